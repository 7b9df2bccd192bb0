//! Pieces the pages share: the header, the sign-in guard, clocks and countdowns, local
//! times, the orders table and the bits of its rows, the pager, loading and error
//! messages, forms that post to server functions, and the live-update feed.

pub mod clock;
pub mod decision;
pub mod form;
pub mod layout;
pub mod live;
pub mod messages;
pub mod order_bits;
pub mod pager;
pub mod table;

pub use clock::{use_server_clock, Countdown, LocalTime};
pub use decision::{use_decisions, DecisionForm, Notice};
pub use layout::{Header, RequireUser};
pub use live::{use_live_changes, use_live_resource, LiveResource};
pub use messages::{ErrorAlert, Loading};
pub use order_bits::{OrderLink, StatusBadge};
pub use pager::{page_param, Pager};
pub use table::{Column, OrderTable};
