//! `text_enum!`: an enum stored as one word.
//!
//! The state database keeps statuses and kinds as lowercase words so that the
//! file reads well in `sqlite3`. One table of variant/word pairs generates
//! `as_str`, `FromStr`, `Display`, serde's `Serialize` and `Deserialize`, and rusqlite's
//! `ToSql`/`FromSql`, so the word in JSON output and the word in the database
//! can never drift apart.

macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// The word for this value, as stored and as printed.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $word, )+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::support::error::Error;

            fn from_str(s: &str) -> $crate::support::error::Result<Self> {
                match s {
                    $( $word => Ok($name::$variant), )+
                    other => Err($crate::support::error::Error::input(format!(
                        "unknown {} {other:?}", stringify!($name)
                    ))
                    .hint(concat!("one of:", $( " ", $word, )+))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                word.parse().map_err(|e: $crate::support::error::Error| {
                    serde::de::Error::custom(e.chain())
                })
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: $crate::support::error::Error| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}
