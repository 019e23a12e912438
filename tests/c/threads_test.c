/* 8 pthreads share one service: each runs its own create/refresh loop, and in every round all 8
 * present the same OneTimeOnly handle at once; every one of them is answered with the token's one
 * successor (the losers of the consume get the winner's), never a second one. */
#define _POSIX_C_SOURCE 200809L
#include "refresh_token_core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 500
#define OWN_LOOPS 200

static rtc_service *service;
static const char client_id[] = "spa";
static const char request[] = "{\"SubjectId\":\"alice\",\"AuthorizedScopes\":[\"offline_access\"]}";
static pthread_barrier_t start, done;
static char shared_handle[128];
static int successes[ROUNDS];
static int differing[ROUNDS];
static char first_answer[ROUNDS][128];
static pthread_mutex_t successes_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;

static rtc_result refresh(const char *handle, char **next) {
    return rtc_service_refresh(service, client_id, strlen(client_id), handle, strlen(handle), NULL, 0, NULL, 0, next,
                               NULL, NULL, NULL, NULL);
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < OWN_LOOPS; ++i) {
        char *handle = NULL, *next = NULL;
        if (rtc_service_create(service, client_id, strlen(client_id), request, strlen(request), &handle, NULL, NULL) != RTC_RESULT_OK ||
            refresh(handle, &next) != RTC_RESULT_OK) {
            __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
        }
        rtc_string_free(handle);
        rtc_string_free(next);
    }
    for (int round = 0; round < ROUNDS; ++round) {
        pthread_barrier_wait(&start);
        char *next = NULL;
        if (refresh(shared_handle, &next) == RTC_RESULT_OK) {
            pthread_mutex_lock(&successes_lock);
            if (successes[round]++ == 0) {
                snprintf(first_answer[round], sizeof first_answer[round], "%s", next);
            } else if (strcmp(first_answer[round], next) != 0) {
                differing[round]++;
            }
            pthread_mutex_unlock(&successes_lock);
        }
        rtc_string_free(next);
        pthread_barrier_wait(&done);
    }
    return NULL;
}

int main(void) {
    rtc_service_builder *b = NULL;
    rtc_client c;
    rtc_client_init(&c, client_id, strlen(client_id));
    c.allow_offline_access = 1;
    c.refresh_token_usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY;
    if (rtc_service_builder_new(NULL, &b, NULL) != RTC_RESULT_OK || rtc_service_builder_add_client(b, &c, NULL) != RTC_RESULT_OK ||
        rtc_service_builder_build(b, &service, NULL) != RTC_RESULT_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    pthread_barrier_init(&start, NULL, THREADS + 1);
    pthread_barrier_init(&done, NULL, THREADS + 1);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; ++i) pthread_create(&threads[i], NULL, worker, NULL);
    int bad_rounds = 0;
    for (int round = 0; round < ROUNDS; ++round) {
        char *handle = NULL;
        if (rtc_service_create(service, client_id, strlen(client_id), request, strlen(request), &handle, NULL, NULL) != RTC_RESULT_OK) {
            fprintf(stderr, "create failed\n");
            return 1;
        }
        snprintf(shared_handle, sizeof shared_handle, "%s", handle);
        rtc_string_free(handle);
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&done);
        if (successes[round] != THREADS || differing[round] != 0) {
            fprintf(stderr, "round %d: %d successes, %d with another successor\n", round, successes[round], differing[round]);
            bad_rounds++;
        }
    }
    for (int i = 0; i < THREADS; ++i) pthread_join(threads[i], NULL);
    rtc_service_free(service);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&done);
    printf("%d threads: %d own create+refresh loops each (%d failures); %d shared rounds, %d not all answered with the one successor\n",
           THREADS, OWN_LOOPS, failures, ROUNDS, bad_rounds);
    return failures == 0 && bad_rounds == 0 ? 0 : 1;
}
