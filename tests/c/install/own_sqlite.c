/* A program that links its own SQLite (the system's) and refresh-token-core's static library,
 * which has a different SQLite compiled in: each must get its own. The program's calls reach the
 * system SQLite (its version is the one in the program's sqlite3.h), and the library's built-in
 * store still works on its own copy, on the same database file.
 *
 * Built by tests/c/install-test against the installed static library. */
#include "refresh_token_core.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "FAIL: %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) return fail("usage: own_sqlite <database file>");
    const char *path = argv[1];
    if (strcmp(sqlite3_libversion(), SQLITE_VERSION) != 0) {
        fprintf(stderr, "sqlite3_libversion() %s, header %s\n", sqlite3_libversion(), SQLITE_VERSION);
        return fail("the program's SQLite calls reached another SQLite");
    }

    /* The library's store creates its table and issues a token in the file. */
    rtc_service_builder *builder = NULL;
    rtc_service *svc = NULL;
    rtc_client web;
    rtc_client_init(&web, "web", 3);
    web.allow_offline_access = 1;
    if (rtc_service_builder_new(NULL, &builder, NULL) != RTC_RESULT_OK ||
        rtc_service_builder_add_client(builder, &web, NULL) != RTC_RESULT_OK ||
        rtc_service_builder_use_sqlite(builder, path, strlen(path), NULL) != RTC_RESULT_OK ||
        rtc_service_builder_build(builder, &svc, NULL) != RTC_RESULT_OK)
        return fail("the library's SQLite store did not open");
    const char *request = "{\"SubjectId\":\"alice\",\"AuthorizedScopes\":[\"openid\",\"offline_access\"]}";
    char *handle = NULL;
    if (rtc_service_create(svc, "web", 3, request, strlen(request), &handle, NULL, NULL) != RTC_RESULT_OK)
        return fail("the library could not issue a token");

    /* The program's own SQLite reads the row the library wrote. */
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    int rows = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM PersistedGrants WHERE Type = 'refresh_token'", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        rows = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (rows != 1) return fail("the program's SQLite did not see the library's row");

    rtc_string_free(handle);
    rtc_service_free(svc);
    printf("program SQLite %s, library store on its own copy: 1 row\n", sqlite3_libversion());
    return 0;
}
