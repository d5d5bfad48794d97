//! Binding one SQL string to either engine.
//!
//! Each macro takes an [`crate::Ex`], the SQL, and the values for `$1…$n`; every value must encode
//! for both SQLite and PostgreSQL (uuid, text, integers, booleans, `DateTime<Utc>`, `Json<T>`,
//! byte vectors and their `Option`s). Only one arm runs, so each value is moved once.

/// Runs a statement; evaluates to `Result<u64>`, the number of rows affected.
macro_rules! sql_execute {
    ($ex:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::Ex::Sqlite(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut *c).await
                .map(|r| r.rows_affected()).map_err($crate::StoreError::from),
            $crate::Ex::Postgres(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut *c).await
                .map(|r| r.rows_affected()).map_err($crate::StoreError::from),
        }
    };
}

/// Fetches rows as `$row` with `$method` (`fetch_one`, `fetch_optional`, `fetch_all`).
macro_rules! sql_rows {
    ($ex:expr, $method:ident, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::Ex::Sqlite(c) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.$method(&mut *c).await
                .map_err($crate::StoreError::from),
            $crate::Ex::Postgres(c) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.$method(&mut *c).await
                .map_err($crate::StoreError::from),
        }
    };
}

/// Fetches a single scalar column as `$ty` with `$method`.
macro_rules! sql_scalar {
    ($ex:expr, $method:ident, $ty:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $ex {
            $crate::Ex::Sqlite(c) => sqlx::query_scalar::<_, $ty>($sql)$(.bind($arg))*.$method(&mut *c).await
                .map_err($crate::StoreError::from),
            $crate::Ex::Postgres(c) => sqlx::query_scalar::<_, $ty>($sql)$(.bind($arg))*.$method(&mut *c).await
                .map_err($crate::StoreError::from),
        }
    };
}

/// Stores an enum as text on both engines (sqlx's enum derive would name a PostgreSQL type). The
/// enum needs `fn as_str(self) -> &'static str` and `fn parse(&str) -> Option<Self>`; `$what`
/// names it in the error for a stored value it does not know.
macro_rules! text_sql_type {
    ($ty:ty, $what:literal) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> std::result::Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<DB>>::decode(value)?;
                <$ty>::parse(s).ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), s).into())
            }
        }
    };
}

/// Runs `$body` with `$c` bound to the connection, whichever the engine: for queries the fixed
/// macros above cannot express, such as a number of parameters known only at run time. `$body`
/// is written once and compiled once per engine; it evaluates to a `sqlx` result.
macro_rules! per_engine {
    ($ex:expr, |$c:ident| $body:expr) => {
        match $ex {
            $crate::Ex::Sqlite($c) => $body.map_err($crate::StoreError::from),
            $crate::Ex::Postgres($c) => $body.map_err($crate::StoreError::from),
        }
    };
}
