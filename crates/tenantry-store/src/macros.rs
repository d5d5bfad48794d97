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
