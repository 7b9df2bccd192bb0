//! Who took part in approving an order's levels before the one it waits at
//! ([`Approvers`]), as `orders.level_approvers` stores them: their names, comma-separated
//! in level order (`carol,dana`), or NULL when nobody has approved a level yet. This
//! type is the only code that reads or writes that text; the SQL that tests membership
//! (`instr(',' || level_approvers || ',', …)`) relies on the same format.

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};

/// Between two names in the stored text.
const SEPARATOR: char = ',';

/// The people who approved the levels before the current one (a delegate and the
/// person they acted for, both), in level order; empty for an order at its first level
/// or of the seed's single level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvers(Vec<String>);

impl Approvers {
    /// Reads the stored text: `None` (NULL) is nobody.
    pub fn from_stored(stored: Option<&str>) -> Self {
        Self(
            stored
                .map(|text| text.split(SEPARATOR).map(str::to_owned).collect())
                .unwrap_or_default(),
        )
    }

    /// As the column stores it: NULL when nobody approved a level yet.
    pub fn to_stored(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(&SEPARATOR.to_string()))
    }

    /// Whether `name` approved (or took part in approving) an earlier level.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl<S: Into<String>> FromIterator<S> for Approvers {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> Self {
        Self(names.into_iter().map(Into::into).collect())
    }
}

impl<'a> IntoIterator for &'a Approvers {
    type Item = &'a str;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, String>, fn(&String) -> &str>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(String::as_str)
    }
}

/// What `sqlx::query_as!` hands over for the nullable column.
impl From<Option<String>> for Approvers {
    fn from(stored: Option<String>) -> Self {
        Self::from_stored(stored.as_deref())
    }
}

impl<DB: Database> Type<DB> for Approvers
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

/// Decodes the column on either database; NULL decodes as nobody.
impl<'r, DB: Database> Decode<'r, DB> for Approvers
where
    Option<&'r str>: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::from_stored(<Option<&'r str>>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_text_round_trips() {
        let approvers: Approvers = ["carol", "dana"].into_iter().collect();
        assert_eq!(approvers.to_stored().as_deref(), Some("carol,dana"));
        assert_eq!(Approvers::from_stored(Some("carol,dana")), approvers);
        assert!(approvers.contains("dana") && !approvers.contains("car"));
        assert_eq!(approvers.iter().collect::<Vec<_>>(), ["carol", "dana"]);
        assert_eq!(Approvers::from_stored(None), Approvers::default());
        assert_eq!(Approvers::default().to_stored(), None, "nobody is NULL");
        assert!(!Approvers::from_stored(None).contains(""));
    }
}
