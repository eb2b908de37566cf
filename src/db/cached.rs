//! Hot statements whose SQL never changes, written so that both backends keep them
//! prepared. diesel's query builder re-prepares every UPDATE (its changesets may skip
//! columns), every `IN (...)` list and every `sql_query`; on SQLite parsing an UPDATE of
//! `cases` (many columns, generated queue columns, RETURNING) was much of the
//! group-commit writer's time. A `Sql` is fixed text with `?` placeholders and typed binds;
//! diesel caches it by its text like any safe query.

use std::borrow::Cow;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Double, HasSqlType, Integer, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    I64(i64),
    OptI64(Option<i64>),
    I32(i32),
    F64(f64),
    OptF64(Option<f64>),
    Bool(bool),
    Text(String),
    OptText(Option<String>),
}

/// A statement of fixed text; `ST` is the SQL type of the rows it returns (`()` for none,
/// `diesel::sql_types::Untyped` for rows read by column name with `QueryableByName`).
#[derive(Debug, Clone)]
pub(crate) struct Sql<ST = ()> {
    text: Cow<'static, str>,
    binds: Vec<Bind>,
    returns: PhantomData<ST>,
}

impl<ST> Sql<ST> {
    /// `text` uses `?` for each bind, in order (numbered `$n` for PostgreSQL); it must not
    /// contain `?` otherwise. A text built at run time stays prepared too, by its text.
    pub(crate) fn new(text: impl Into<Cow<'static, str>>) -> Sql<ST> {
        Sql {
            text: text.into(),
            binds: Vec::new(),
            returns: PhantomData,
        }
    }

    pub(crate) fn bind(mut self, value: impl Into<Bind>) -> Sql<ST> {
        self.binds.push(value.into());
        self
    }
}

macro_rules! bind_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Bind {
            fn from(v: $t) -> Bind {
                Bind::$variant(v.into())
            }
        }
    )*};
}

bind_from!(
    i64 => I64,
    Option<i64> => OptI64,
    i32 => I32,
    f64 => F64,
    Option<f64> => OptF64,
    bool => Bool,
    String => Text,
    &str => Text,
    Option<String> => OptText,
);

impl<ST, DB> QueryFragment<DB> for Sql<ST>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Integer> + HasSqlType<Double>,
    DB: HasSqlType<Bool> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    i32: ToSql<Integer, DB>,
    f64: ToSql<Double, DB>,
    Option<f64>: ToSql<Nullable<Double>, DB>,
    bool: ToSql<Bool, DB>,
    String: ToSql<Text, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut pieces = self.text.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        let mut binds = self.binds.iter();
        for piece in pieces {
            let bind = binds.next().ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(
                    format!("too few binds for {:?}", self.text).into(),
                )
            })?;
            match bind {
                Bind::I64(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::OptI64(v) => out.push_bind_param::<Nullable<BigInt>, _>(v)?,
                Bind::I32(v) => out.push_bind_param::<Integer, _>(v)?,
                Bind::F64(v) => out.push_bind_param::<Double, _>(v)?,
                Bind::OptF64(v) => out.push_bind_param::<Nullable<Double>, _>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
            }
            out.push_sql(piece);
        }
        if binds.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("too many binds for {:?}", self.text).into(),
            ));
        }
        Ok(())
    }
}

/// Keyed by its text in the statement cache (no static id: many texts share this type).
impl<ST> QueryId for Sql<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST> Query for Sql<ST> {
    type SqlType = ST;
}

impl<ST, C> RunQueryDsl<C> for Sql<ST> {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::{Connection, SqliteConnection};

    #[test]
    fn binds_in_order_and_refuses_a_miscount() {
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let row: (i64, String, Option<i64>) =
            Sql::<(BigInt, Text, Nullable<BigInt>)>::new("SELECT ? + 1, ? || '镇', ?")
                .bind(41i64)
                .bind("桂城")
                .bind(None::<i64>)
                .get_result(&mut c)
                .unwrap();
        assert_eq!(row, (42, "桂城镇".to_string(), None));
        let too_few = Sql::<BigInt>::new("SELECT ? + ?")
            .bind(1i64)
            .get_result::<i64>(&mut c);
        assert!(too_few.is_err());
        let too_many = Sql::<BigInt>::new("SELECT ?")
            .bind(1i64)
            .bind(2i64)
            .get_result::<i64>(&mut c);
        assert!(too_many.is_err());
    }
}
