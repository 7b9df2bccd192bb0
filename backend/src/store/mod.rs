//! The one storage interface the layers above call: they never ask which database is
//! behind it. Each database's statements live in a crate of their own (`store-sqlite`,
//! `store-postgres`: the same functions, checked against their own schema), and the
//! functions here run the one of the database a [`Db`](db::Db) holds.
//!
//! - [`db`]: opening either database and migrating it;
//! - [`read_model`]: the orders' rows, their levels, timeline and repairs, and the
//!   lists (built at run time, over the two databases' few differing words);
//! - [`group_commit`]: the start path's and the outcomes' writes, batched on SQLite;
//! - [`changes`]: the change feed behind the event streams;
//! - [`comments`]: the orders' threads;
//! - [`attachments`], [`files`]: the orders' attached files, their rows and their
//!   bytes (these through a Dapr output binding: a directory, or an S3 bucket);
//! - [`action_links`]: the links in e-mails that decide an order;
//! - [`accounts`], [`delegation`], [`recipients`], [`outbox`], [`lease`], [`audit`]:
//!   people and sessions, who decides for whom, who is e-mailed, what is to be sent,
//!   which replica runs the reconciler, and the decision trail;
//! - [`maintenance`]: the schema's version, and a restore's hand-back to the reconciler.
//!
//! Statements know no rules: what may be read or written is decided above, by the
//! services and `rules`.

/// Declares store functions, each running the statement of the same name in the
/// `$area` module of `store_sqlite` or of `store_postgres`, whichever database `db`
/// is. The signatures are written once, here: the compiler holds both crates to them.
macro_rules! on_either_database {
    ($area:ident {
        $( $(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; )*
    }) => {
        $(
            $(#[$meta])*
            pub async fn $name(db: &$crate::store::db::Db, $($arg: $ty),*) -> $ret {
                match db {
                    $crate::store::db::Db::Sqlite(pool) => {
                        store_sqlite::$area::$name(pool, $($arg),*).await
                    }
                    $crate::store::db::Db::Postgres(pool) => {
                        store_postgres::$area::$name(pool, $($arg),*).await
                    }
                }
            }
        )*
    };
}

pub mod accounts;
pub mod action_links;
pub mod attachments;
pub mod audit;
pub mod changes;
pub mod comments;
pub mod db;
pub mod delegation;
pub mod files;
pub mod group_commit;
pub mod lease;
pub mod maintenance;
pub mod outbox;
pub mod read_model;
pub mod recipients;
