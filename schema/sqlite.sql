-- Duende's PersistedGrants table as EF Core's SQLite provider creates it (the operational
-- store's migrations), with its five indexes. Safe to run again. The stores of
-- refresh-token-core run this script at start-up unless told not to (create_table = false /
-- CreateTable = false); run it yourself when the service's database user has no DDL rights.
-- For another table name, `rtc schema sqlite --table NAME` prints it renamed.
CREATE TABLE IF NOT EXISTS "PersistedGrants" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_PersistedGrants" PRIMARY KEY AUTOINCREMENT,
    "Key" TEXT NULL,
    "Type" TEXT NOT NULL,
    "SubjectId" TEXT NULL,
    "SessionId" TEXT NULL,
    "ClientId" TEXT NOT NULL,
    "Description" TEXT NULL,
    "CreationTime" TEXT NOT NULL,
    "Expiration" TEXT NULL,
    "ConsumedTime" TEXT NULL,
    "Data" TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "IX_PersistedGrants_Key" ON "PersistedGrants" ("Key") WHERE "Key" IS NOT NULL;
CREATE INDEX IF NOT EXISTS "IX_PersistedGrants_ConsumedTime" ON "PersistedGrants" ("ConsumedTime");
CREATE INDEX IF NOT EXISTS "IX_PersistedGrants_Expiration" ON "PersistedGrants" ("Expiration");
CREATE INDEX IF NOT EXISTS "IX_PersistedGrants_SubjectId_ClientId_Type" ON "PersistedGrants" ("SubjectId", "ClientId", "Type");
CREATE INDEX IF NOT EXISTS "IX_PersistedGrants_SubjectId_SessionId_Type" ON "PersistedGrants" ("SubjectId", "SessionId", "Type");
