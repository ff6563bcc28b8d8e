// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // One click, one submission: the checkout's idempotency key covers the rest.
    var button = form.querySelector("button[type=submit]");
    if (button && form.id === "checkout-form") {
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });
  // Filters apply as soon as they change.
  document.querySelectorAll(".facets select, .facets input[type=radio]").forEach(function (input) {
    input.addEventListener("change", function () { input.form.submit(); });
  });
  // Card number in groups of four as it is typed.
  var card = document.getElementById("card_number");
  if (card) {
    card.addEventListener("input", function () {
      var digits = card.value.replace(/\D/g, "").slice(0, 19);
      card.value = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
    });
  }
})();
