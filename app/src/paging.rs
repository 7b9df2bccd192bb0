//! How the lists page: a page's size and how far a page number may go. Below both the
//! server functions (which read a page) and the pager (which links to the next), so
//! neither imports the other for them.

/// Rows on a page of every list.
pub const PAGE_SIZE: i64 = 25;

/// Far beyond any real list (25 million orders at 25 a page), and small enough that
/// the page's offset can never overflow.
pub const MAX_PAGE_NUMBER: i64 = 1_000_000;
