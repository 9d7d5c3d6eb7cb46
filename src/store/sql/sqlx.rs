//! What the two sqlx stores share, written once: they differ only in the
//! database type (and in which errors mean "another writer won"). The
//! statements are each backend's own constants, named alike.

/// The schema version, the upgrade inside `migrate`'s transaction, loading
/// and saving with any executor of `$executor` (the pool, a connection, the
/// host's transaction), and `AsyncStore`, for `$store` over database
/// `$database`. A database error for which `$conflict` holds is a conflict.
macro_rules! sqlx_store {
    ($store:ident, $database:ident, $executor:ident, |$error:ident| $conflict:expr) => {
        impl $store {
            /// Creates the tables or brings them to [`SCHEMA_VERSION`], in
            /// `migrate`'s transaction (locked by then, as each backend
            /// locks); refuses a newer schema.
            async fn upgrade(
                tx: &mut ::sqlx::Transaction<'static, ::sqlx::$database>,
            ) -> Result<(), SqlStoreError> {
                ::sqlx::raw_sql(SCHEMA_TABLE).execute(&mut **tx).await?;
                let found: i64 = ::sqlx::query(READ_SCHEMA)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get(0)?;
                let steps = steps_after(&MIGRATIONS, found)?;
                if found < SCHEMA_VERSION {
                    for step in steps {
                        ::sqlx::raw_sql(step).execute(&mut **tx).await?;
                    }
                    ::sqlx::query(CLEAR_SCHEMA).execute(&mut **tx).await?;
                    ::sqlx::query(WRITE_SCHEMA)
                        .bind(SCHEMA_VERSION)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// The schema version of the database (0 before
            /// [`migrate`](Self::migrate)).
            ///
            /// # Errors
            /// [`SqlStoreError::Sqlx`] if it cannot be read.
            pub async fn schema_version(&self) -> Result<i64, SqlStoreError> {
                ::sqlx::raw_sql(SCHEMA_TABLE).execute(&self.pool).await?;
                Ok(::sqlx::query(READ_SCHEMA)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?)
            }

            /// Loads `key`'s record with `executor`: the pool, a connection,
            /// or the host's own transaction (the sans-IO path,
            /// [`Mfa::prepare_verify`](crate::Mfa::prepare_verify)).
            ///
            /// # Errors
            /// [`SqlStoreError::Sqlx`] if the query fails.
            pub async fn load_in<'e>(
                executor: impl ::sqlx::$executor<'e>,
                key: RecordKey<'_>,
            ) -> Result<Option<Versioned>, SqlStoreError> {
                let row = ::sqlx::query(LOAD)
                    .bind(key.kind())
                    .bind(key.id())
                    .fetch_optional(executor)
                    .await?;
                let row = match row {
                    Some(row) => Some((row.try_get::<i64, _>(0)?, row.try_get::<Vec<u8>, _>(1)?)),
                    None => None,
                };
                versioned(row)
            }

            /// Saves `bytes` under `key` if the stored version is still
            /// `expected`, with `executor` (one conditional statement), as
            /// [`load_in`](Self::load_in).
            ///
            /// # Errors
            /// [`SqlStoreError::Sqlx`] if the statement fails.
            pub async fn save_in<'e>(
                executor: impl ::sqlx::$executor<'e>,
                key: RecordKey<'_>,
                expected: Option<Version>,
                bytes: &[u8],
            ) -> Result<SaveOutcome, SqlStoreError> {
                let write = Write::at(expected);
                let done = match write {
                    Write::Create => {
                        ::sqlx::query(CREATE)
                            .bind(key.kind())
                            .bind(key.id())
                            .bind(bytes)
                            .execute(executor)
                            .await
                    }
                    Write::Update(column) => {
                        ::sqlx::query(UPDATE)
                            .bind(bytes)
                            .bind(key.kind())
                            .bind(key.id())
                            .bind(column)
                            .execute(executor)
                            .await
                    }
                    Write::Conflict => return Ok(SaveOutcome::Conflict),
                };
                match done {
                    Ok(done) => Ok(write.outcome(done.rows_affected())),
                    Err(::sqlx::Error::Database($error)) if $conflict => Ok(SaveOutcome::Conflict),
                    Err(e) => Err(e.into()),
                }
            }
        }

        impl AsyncStore for $store {
            type Error = SqlStoreError;

            async fn load(&self, key: RecordKey<'_>) -> Result<Option<Versioned>, SqlStoreError> {
                Self::load_in(&self.pool, key).await
            }

            async fn save(
                &self,
                key: RecordKey<'_>,
                expected: Option<Version>,
                bytes: &[u8],
            ) -> Result<SaveOutcome, SqlStoreError> {
                Self::save_in(&self.pool, key, expected, bytes).await
            }
        }
    };
}

pub(crate) use sqlx_store;
