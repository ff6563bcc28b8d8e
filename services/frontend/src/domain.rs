//! The storefront's own logic, free of HTTP and templates: signed cookies and CSRF tokens, the
//! guest cart, search highlighting and product pictures.

pub mod guest_cart;
pub mod highlight;
pub mod placeholder;
pub mod signer;

pub use guest_cart::GuestCart;
pub use signer::Signer;
