/* A token endpoint's refresh_token grant on refresh-token-core, in plain C.
 *
 * handle_refresh() is what a server calls for `POST /connect/token` with
 * grant_type=refresh_token after authenticating the client: it answers HTTP 200 with the new
 * refresh token, HTTP 400 with an OAuth error, or HTTP 503 when storage failed (the client may
 * retry; nothing was consumed). main() plays a few requests through it.
 *
 * Build against an installed copy (README, "Install"):
 *   cc -std=c11 token_endpoint.c $(pkg-config --cflags --libs refresh_token_core)
 * or statically:
 *   cc -std=c11 token_endpoint.c $(pkg-config --static --cflags --libs refresh_token_core-static) */
#include "refresh_token_core.h"

#include <stdio.h>
#include <string.h>

/* Answers one refresh request; writes the HTTP status and body into `body`. */
static int handle_refresh(const rtc_service *svc, const char *client_id, const char *refresh_token, char *body, size_t size) {
    char *new_handle = NULL;
    rtc_error *err = NULL;
    rtc_result r = rtc_service_refresh(svc, client_id, strlen(client_id), refresh_token, strlen(refresh_token),
                                       NULL, 0,     /* no resource indicator */
                                       NULL, 0,     /* re-issue the stored access token */
                                       &new_handle, NULL, NULL, NULL, &err);
    int status;
    if (r == RTC_RESULT_OK) {
        /* A real server also mints the access token here (out_access_token_json has its record). */
        snprintf(body, size, "{\"refresh_token\":\"%s\",\"token_type\":\"Bearer\"}", new_handle);
        status = 200;
    } else if (rtc_error_retryable(err)) {
        snprintf(body, size, "{\"error\":\"temporarily_unavailable\"}");
        status = 503;
    } else if (rtc_error_oauth_error(err) != NULL) {
        /* invalid_grant / invalid_request; the reason is for your logs, not for the client. */
        fprintf(stderr, "  (log: refused, %s)\n", rtc_error_message(err));
        snprintf(body, size, "{\"error\":\"%s\"}", rtc_error_oauth_error(err));
        status = 400;
    } else {
        /* A bug on our side: bad arguments, unknown client. */
        fprintf(stderr, "  (log: %s: %s)\n", rtc_result_name(r), rtc_error_message(err));
        snprintf(body, size, "{\"error\":\"server_error\"}");
        status = 500;
    }
    rtc_string_free(new_handle); /* wipes the handle's bytes */
    rtc_error_free(err);
    return status;
}

int main(void) {
    if (rtc_abi_version() != RTC_ABI_VERSION) {
        fprintf(stderr, "library ABI %u does not match this header's %u\n", rtc_abi_version(), RTC_ABI_VERSION);
        return 1;
    }
    /* The service: defaults of Duende IdentityServer 7, the built-in in-memory store, one
     * OneTimeOnly client. A real server would register its storage with
     * rtc_service_builder_set_store. */
    rtc_service_builder *builder = NULL;
    rtc_service *svc = NULL;
    rtc_client mobile;
    rtc_client_init(&mobile, "mobile", 6);
    mobile.allow_offline_access = 1;
    mobile.refresh_token_usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY;
    if (rtc_service_builder_new(NULL, &builder, NULL) != RTC_RESULT_OK ||
        rtc_service_builder_add_client(builder, &mobile, NULL) != RTC_RESULT_OK ||
        rtc_service_builder_build(builder, &svc, NULL) != RTC_RESULT_OK) {
        fprintf(stderr, "could not build the service\n");
        return 1;
    }

    /* After an authorization-code exchange with offline_access: issue a refresh token. */
    const char *request = "{\"SubjectId\":\"alice\",\"SessionId\":\"s1\",\"AuthorizedScopes\":[\"openid\",\"offline_access\"]}";
    char *first = NULL;
    if (rtc_service_create(svc, "mobile", 6, request, strlen(request), &first, NULL, NULL) != RTC_RESULT_OK) {
        fprintf(stderr, "could not create a refresh token\n");
        return 1;
    }

    char body[256], answer[256];
    int status = handle_refresh(svc, "mobile", first, answer, sizeof answer);
    printf("refresh with the first token  -> HTTP %d (new token issued: %s)\n", status, status == 200 ? "yes" : "no");
    /* The client lost that response and retries: inside the reuse window (60 s by default) it gets
     * the same successor, not a second chain. */
    status = handle_refresh(svc, "mobile", first, body, sizeof body);
    printf("retry of the first token      -> HTTP %d (the same successor: %s)\n", status, strcmp(body, answer) == 0 ? "yes" : "no");
    /* The client moves on with the successor; the first token is now a replay. */
    char next[80] = {0};
    const char *start = strstr(answer, "\"refresh_token\":\"");
    if (start) sscanf(start + strlen("\"refresh_token\":\""), "%79[^\"]", next);
    status = handle_refresh(svc, "mobile", next, body, sizeof body);
    printf("refresh with the successor    -> HTTP %d\n", status);
    status = handle_refresh(svc, "mobile", first, body, sizeof body);
    printf("replay of the first token     -> HTTP %d %s\n", status, body);
    status = handle_refresh(svc, "mobile", "", body, sizeof body);
    printf("empty refresh_token parameter -> HTTP %d %s\n", status, body);

    rtc_string_free(first);
    rtc_service_free(svc);
    return 0;
}
