//! Flag columns: stored as 0/1 integers on both databases, read as `bool`.

use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::decode::Decode;
use sqlx::error::BoxDynError;
use sqlx::types::Type;

/// A 0/1 flag column as read; any value other than 0 is true. Row structs declare the field as
/// `bool` with `#[sqlx(try_from = "Flag")]`. It exists because sqlx's Any driver decodes a
/// `bool` only from a boolean value, and the flags are integers on SQLite and PostgreSQL alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(bool);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Flag(<i64 as Decode<'r, Any>>::decode(value)? != 0))
    }
}
