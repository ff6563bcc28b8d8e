//! One contract for `UserStore`, run against SQLite and against the local PostgreSQL.
//!
//! The store writes `user.registered` and `user.erased` through kit's outbox; the contract routes
//! both topics to one subscriber and counts the outbox rows to see which changes announced
//! themselves.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use shopctl_kit::{
    db::{Db, PoolOptions, StoreError},
    events::{self, Outbox},
    testing::{TestBackend, TestDatabase},
};
use shopctl_user::{
    domain::{Lockout, Role, User},
    store::{KeyRow, NewUser, RefreshOutcome, SqlUserStore, UserStore, now},
};
use uuid::Uuid;

const SUBSCRIBER: &str = "http://subscriber.test/events";

async fn store_on(backend: TestBackend) -> (SqlUserStore, Db, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let pool = Db::connect_and_migrate(&db.url, PoolOptions::default(), &shopctl_user::MIGRATIONS)
        .await
        .unwrap();
    events::install(&pool).await.unwrap();
    let routes = BTreeMap::from([
        ("user.registered".to_owned(), vec![SUBSCRIBER.to_owned()]),
        ("user.erased".to_owned(), vec![SUBSCRIBER.to_owned()]),
    ]);
    let store = SqlUserStore::new(pool.clone()).with_outbox(Outbox::new(routes));
    (store, pool, db)
}

fn hash_of(email: &str) -> String {
    format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${email}")
}

fn new_user(email: &str, roles: &[Role]) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: format!("Name of {email}"),
        password_hash: hash_of(email),
        roles: roles.to_vec(),
    }
}

/// Events waiting in the outbox.
async fn outbox(db: &Db) -> i64 {
    events::depths(db).await.unwrap().0
}

/// A 15-minute window, locked for 10 minutes at the third failure.
const LOCKOUT: Lockout = Lockout {
    threshold: 3,
    window: Duration::minutes(15),
    lock_for: Duration::minutes(10),
};

/// One failed login under [`LOCKOUT`].
async fn fail(store: &dyn UserStore, id: Uuid, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    store.record_failed_login(id, at, LOCKOUT).await.unwrap()
}

fn ids(users: &[User]) -> Vec<Uuid> {
    users.iter().map(|user| user.id).collect()
}

fn kids(keys: &[KeyRow]) -> Vec<&str> {
    keys.iter().map(|key| key.kid.as_str()).collect()
}

async fn run_store_contract(store: &dyn UserStore, db: &Db) {
    // Accounts read back exactly, by id and by e-mail, and announce themselves.
    let ana = store
        .create_user(&new_user("ana@example.com", &[Role::Customer]))
        .await
        .unwrap();
    assert_eq!(ana.email, "ana@example.com");
    assert_eq!(ana.name, "Name of ana@example.com");
    assert_eq!(ana.roles, vec![Role::Customer]);
    assert_eq!(ana.created_at, ana.updated_at);
    let stored = store.user(ana.id).await.unwrap();
    assert_eq!(stored.user, ana);
    assert_eq!(stored.password_hash, hash_of("ana@example.com"));
    assert!(stored.locked_until.is_none());
    assert!(!stored.erased);
    assert_eq!(
        store.user_by_email("ana@example.com").await.unwrap().user,
        ana
    );
    assert!(matches!(
        store.user(Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.user_by_email("nobody@example.com").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(outbox(db).await, 1);

    // An e-mail is registered once, reported the same way on both backends, announcing nothing.
    let duplicate = store
        .create_user(&new_user("ana@example.com", &[Role::Admin]))
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, StoreError::UniqueViolation { constraint } if constraint.contains("email")),
        "{duplicate:?}"
    );
    assert_eq!(
        store.user_by_email("ana@example.com").await.unwrap().user,
        ana
    );
    assert_eq!(outbox(db).await, 1);

    // Imports keep their ids and time, skip registered e-mails, and announce nothing.
    let at: DateTime<Utc> = "2025-03-04T05:06:07.123456Z".parse().unwrap();
    let imported_id = Uuid::now_v7();
    let batch = [
        (
            imported_id,
            new_user("imported@example.com", &[Role::Support]),
        ),
        (Uuid::now_v7(), new_user("ana@example.com", &[])),
    ];
    assert_eq!(store.import_users(&batch, at).await.unwrap(), 1);
    assert_eq!(store.import_users(&batch[..1], at).await.unwrap(), 0);
    let imported = store.user(imported_id).await.unwrap();
    assert_eq!(imported.user.email, "imported@example.com");
    assert_eq!(imported.user.roles, vec![Role::Support]);
    assert_eq!(imported.user.created_at, at);
    assert_eq!(imported.user.updated_at, at);
    assert_eq!(imported.password_hash, hash_of("imported@example.com"));
    assert_eq!(
        store.user_by_email("ana@example.com").await.unwrap().user,
        ana
    );
    assert_eq!(outbox(db).await, 1);

    // Lockout: the third failure within the window locks; a passed window starts counting anew.
    let t0 = now();
    assert_eq!(fail(store, ana.id, t0).await, None);
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(1)).await, None);
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(20)).await, None);
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(21)).await, None);
    assert!(store.user(ana.id).await.unwrap().locked_until.is_none());
    let until = t0 + Duration::minutes(32);
    assert_eq!(
        fail(store, ana.id, t0 + Duration::minutes(22)).await,
        Some(until)
    );
    assert_eq!(store.user(ana.id).await.unwrap().locked_until, Some(until));
    // Locking resets the count; failures meanwhile neither lock again nor lift the lock.
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(23)).await, None);
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(24)).await, None);
    assert_eq!(store.user(ana.id).await.unwrap().locked_until, Some(until));
    // A success forgets the failures (without it, the next one would lock) and the lock.
    store.clear_failed_logins(ana.id).await.unwrap();
    assert!(store.user(ana.id).await.unwrap().locked_until.is_none());
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(25)).await, None);
    assert_eq!(fail(store, ana.id, t0 + Duration::minutes(26)).await, None);
    assert_eq!(
        fail(store, ana.id, t0 + Duration::minutes(27)).await,
        Some(t0 + Duration::minutes(37))
    );
    store.clear_failed_logins(ana.id).await.unwrap();
    assert!(store.user(ana.id).await.unwrap().locked_until.is_none());
    assert!(matches!(
        store.record_failed_login(Uuid::now_v7(), t0, LOCKOUT).await,
        Err(StoreError::NotFound)
    ));

    // Profile changes: name, password, roles; each only on an existing account.
    let renamed = store.set_name(ana.id, "Ana María").await.unwrap();
    assert_eq!(renamed.name, "Ana María");
    assert_eq!(
        (
            renamed.id,
            &renamed.email,
            &renamed.roles,
            renamed.created_at
        ),
        (ana.id, &ana.email, &ana.roles, ana.created_at)
    );
    assert!(renamed.updated_at >= ana.updated_at);
    assert_eq!(store.user(ana.id).await.unwrap().user, renamed);
    store.set_password(ana.id, "$argon2id$new").await.unwrap();
    let changed = store.user(ana.id).await.unwrap();
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(changed.user.name, "Ana María");
    let promoted = store
        .set_roles(ana.id, &[Role::Customer, Role::Admin])
        .await
        .unwrap();
    assert_eq!(promoted.roles, vec![Role::Customer, Role::Admin]);
    assert_eq!(promoted.name, "Ana María");
    assert_eq!(
        store.user_by_email("ana@example.com").await.unwrap().user,
        promoted
    );
    let missing = Uuid::now_v7();
    assert!(matches!(
        store.set_name(missing, "x").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_password(missing, "x").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_roles(missing, &[Role::Admin]).await,
        Err(StoreError::NotFound)
    ));

    // Listing: by id, in pages after a cursor.
    let bo = store
        .create_user(&new_user("bo@example.com", &[]))
        .await
        .unwrap();
    let cy = store
        .create_user(&new_user("cy@example.com", &[Role::Customer]))
        .await
        .unwrap();
    let di = store
        .create_user(&new_user("di@example.com", &[]))
        .await
        .unwrap();
    assert_eq!(outbox(db).await, 4);
    let mut all = [ana.id, imported_id, bo.id, cy.id, di.id];
    all.sort_unstable();
    let first = store.list_users(None, 2).await.unwrap();
    assert_eq!(ids(&first), &all[..2]);
    let second = store.list_users(Some(first[1].id), 2).await.unwrap();
    assert_eq!(ids(&second), &all[2..4]);
    let third = store.list_users(Some(second[1].id), 2).await.unwrap();
    assert_eq!(ids(&third), &all[4..]);
    assert!(store.list_users(Some(all[4]), 2).await.unwrap().is_empty());
    let everyone = store.list_users(None, 10).await.unwrap();
    let mut expected = Vec::new();
    for id in &all {
        expected.push(store.user(*id).await.unwrap().user);
    }
    assert_eq!(everyone, expected);

    // Refresh tokens: stored, found by hash, listed as a session while unused.
    let t = now();
    let day = Duration::days(1);
    let family = Uuid::now_v7();
    assert!(
        store
            .insert_refresh("hash-1", ana.id, family, t, t + day)
            .await
            .unwrap()
    );
    assert_eq!(
        store.refresh_family("hash-1").await.unwrap(),
        Some((ana.id, family))
    );
    assert_eq!(store.refresh_family("hash-none").await.unwrap(), None);
    let live = store.sessions(ana.id, t).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(
        (live[0].id, live[0].issued_at, live[0].expires_at),
        (family, t, t + day)
    );
    assert!(store.sessions(bo.id, t).await.unwrap().is_empty());

    // A token is used once; presenting it again is reuse of its family.
    let t1 = t + Duration::minutes(1);
    assert_eq!(
        store.consume_refresh("hash-1", t1).await.unwrap(),
        RefreshOutcome::Valid {
            user_id: ana.id,
            family_id: family
        }
    );
    assert_eq!(
        store.consume_refresh("hash-1", t1).await.unwrap(),
        RefreshOutcome::Reused { family_id: family }
    );
    assert_eq!(
        store.consume_refresh("hash-none", t1).await.unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(store.sessions(ana.id, t1).await.unwrap().is_empty());
    assert!(
        store
            .insert_refresh("hash-2", ana.id, family, t1, t1 + day)
            .await
            .unwrap()
    );
    let live = store.sessions(ana.id, t1).await.unwrap();
    assert_eq!(
        live.iter()
            .map(|session| (session.id, session.issued_at))
            .collect::<Vec<_>>(),
        vec![(family, t1)]
    );

    // Two concurrent uses of one token: exactly one succeeds, the other is reuse.
    let racing = Uuid::now_v7();
    assert!(
        store
            .insert_refresh("hash-race", ana.id, racing, t1, t1 + day)
            .await
            .unwrap()
    );
    let (one, other) = tokio::join!(
        store.consume_refresh("hash-race", t1),
        store.consume_refresh("hash-race", t1)
    );
    let mut outcomes = [one.unwrap(), other.unwrap()];
    outcomes.sort_by_key(|outcome| matches!(outcome, RefreshOutcome::Reused { .. }));
    assert_eq!(
        outcomes,
        [
            RefreshOutcome::Valid {
                user_id: ana.id,
                family_id: racing
            },
            RefreshOutcome::Reused { family_id: racing }
        ]
    );

    // An expired token is neither usable nor a session.
    let stale = Uuid::now_v7();
    assert!(
        store
            .insert_refresh("hash-old", ana.id, stale, t - day - day, t - day)
            .await
            .unwrap()
    );
    assert_eq!(
        store.consume_refresh("hash-old", t1).await.unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(
        store
            .sessions(ana.id, t1)
            .await
            .unwrap()
            .iter()
            .all(|session| session.id != stale)
    );

    // Revoking a family ends its tokens, used or not, and it gets no new one.
    let t2 = t1 + Duration::minutes(1);
    store.revoke_family(family, t2).await.unwrap();
    assert_eq!(
        store.consume_refresh("hash-2", t2).await.unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(
        store.consume_refresh("hash-1", t2).await.unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(
        !store
            .insert_refresh("hash-3", ana.id, family, t2, t2 + day)
            .await
            .unwrap()
    );
    assert_eq!(store.refresh_family("hash-3").await.unwrap(), None);
    assert_eq!(
        store.refresh_family("hash-2").await.unwrap(),
        Some((ana.id, family))
    );
    assert!(store.sessions(ana.id, t2).await.unwrap().is_empty());

    // Revoking a user's sessions ends all of that user's families, and only theirs.
    let (bo_first, bo_second, cy_family) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for (hash, user, family_id, issued) in [
        ("hash-bo-1", bo.id, bo_first, t),
        ("hash-bo-2", bo.id, bo_second, t1),
        ("hash-cy-1", cy.id, cy_family, t),
    ] {
        assert!(
            store
                .insert_refresh(hash, user, family_id, issued, issued + day)
                .await
                .unwrap()
        );
    }
    let live = store.sessions(bo.id, t1).await.unwrap();
    assert_eq!(
        live.iter()
            .map(|session| (session.id, session.issued_at))
            .collect::<Vec<_>>(),
        vec![(bo_first, t), (bo_second, t1)]
    );
    store.revoke_user_sessions(bo.id, t2).await.unwrap();
    assert!(store.sessions(bo.id, t2).await.unwrap().is_empty());
    assert_eq!(
        store.consume_refresh("hash-bo-2", t2).await.unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(
        !store
            .insert_refresh("hash-bo-3", bo.id, bo_second, t2, t2 + day)
            .await
            .unwrap()
    );
    assert_eq!(store.sessions(cy.id, t2).await.unwrap().len(), 1);
    // Signing in again starts a new family.
    assert!(
        store
            .insert_refresh("hash-bo-4", bo.id, Uuid::now_v7(), t2, t2 + day)
            .await
            .unwrap()
    );
    assert_eq!(store.sessions(bo.id, t2).await.unwrap().len(), 1);

    // Erasure pseudonymises the account, keeps its row, ends its sessions and announces itself.
    let erased_at = now();
    store.erase(cy.id, erased_at).await.unwrap();
    let erased = store.user(cy.id).await.unwrap();
    assert!(erased.erased);
    assert_eq!(
        erased.user.email,
        format!("erased+{}@invalid", cy.id.simple())
    );
    assert!(erased.user.name.is_empty());
    assert!(erased.user.roles.is_empty());
    assert_eq!(erased.password_hash, "!");
    assert_eq!(erased.user.created_at, cy.created_at);
    assert_eq!(erased.user.updated_at, erased_at);
    assert!(matches!(
        store.user_by_email("cy@example.com").await,
        Err(StoreError::NotFound)
    ));
    assert!(store.sessions(cy.id, erased_at).await.unwrap().is_empty());
    assert_eq!(
        store.consume_refresh("hash-cy-1", erased_at).await.unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(outbox(db).await, 5);
    // Erased once; an erased account can no longer be changed, and is no longer listed.
    assert!(matches!(
        store.erase(cy.id, now()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.erase(Uuid::now_v7(), now()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_name(cy.id, "Back").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_password(cy.id, "$argon2id$back").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.set_roles(cy.id, &[Role::Admin]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.user(cy.id).await.unwrap().password_hash, "!");
    assert_eq!(outbox(db).await, 5);
    let listed = ids(&store.list_users(None, 10).await.unwrap());
    let remaining: Vec<Uuid> = all.iter().copied().filter(|id| *id != cy.id).collect();
    assert_eq!(listed, remaining);
    // The e-mail is free for a new account.
    let again = store
        .create_user(&new_user("cy@example.com", &[]))
        .await
        .unwrap();
    assert_ne!(again.id, cy.id);
    assert_eq!(outbox(db).await, 6);

    // Signing keys: a rotation adds the key and retires the active one, which stays published
    // while it retired after `since`; newest first.
    let k1 = now() - Duration::hours(3);
    let (k2, k3) = (k1 + Duration::hours(1), k1 + Duration::hours(2));
    assert!(store.signing_keys(k1).await.unwrap().is_empty());
    store.rotate_key("kid-1", "seed-1", k1).await.unwrap();
    let keys = store.signing_keys(k1).await.unwrap();
    assert_eq!(kids(&keys), ["kid-1"]);
    assert_eq!(
        (
            keys[0].seed.as_str(),
            keys[0].created_at,
            keys[0].retired_at
        ),
        ("seed-1", k1, None)
    );
    store.rotate_key("kid-2", "seed-2", k2).await.unwrap();
    let keys = store.signing_keys(k1).await.unwrap();
    assert_eq!(kids(&keys), ["kid-2", "kid-1"]);
    assert_eq!(keys[0].retired_at, None);
    assert_eq!(keys[1].retired_at, Some(k2));
    assert_eq!(kids(&store.signing_keys(k2).await.unwrap()), ["kid-2"]);
    store.rotate_key("kid-3", "seed-3", k3).await.unwrap();
    let keys = store.signing_keys(k1).await.unwrap();
    assert_eq!(kids(&keys), ["kid-3", "kid-2", "kid-1"]);
    assert_eq!(
        keys.iter().map(|key| key.retired_at).collect::<Vec<_>>(),
        vec![None, Some(k3), Some(k2)]
    );
    assert_eq!(
        kids(&store.signing_keys(k2).await.unwrap()),
        ["kid-3", "kid-2"]
    );
    assert_eq!(kids(&store.signing_keys(k3).await.unwrap()), ["kid-3"]);
}

#[tokio::test]
async fn sqlite_store_meets_the_contract() {
    let (store, pool, _db) = store_on(TestBackend::Sqlite).await;
    run_store_contract(&store, &pool).await;
}

#[tokio::test]
async fn postgres_store_meets_the_contract() {
    let (store, pool, _db) = store_on(TestBackend::Postgres).await;
    run_store_contract(&store, &pool).await;
}
