/* The header compiles clean as strict C11 (and, copied to header_check.cpp by CMake, as C++17), and the
 * library it declares links and agrees with it. It shares no name with the Linux kernel's
 * real-time-clock header, which also uses the rtc_ prefix (its `struct rtc_time` once clashed in
 * C++ with a typedef of this header), included first. */
#ifdef __linux__
#include <linux/rtc.h>
#endif
#include "refresh_token_core.h"
#include "refresh_token_core.h" /* include guard */

#include <stdio.h>
#include <string.h>

int main(void) {
    if (rtc_abi_version() != RTC_ABI_VERSION || strcmp(rtc_version(), RTC_VERSION) != 0) {
        fprintf(stderr, "header and library disagree\n");
        return 1;
    }
    rtc_timestamp none = RTC_TIME_NONE;
    (void)none;
#ifdef __linux__
    struct rtc_time clock_reading;
    memset(&clock_reading, 0, sizeof clock_reading);
    (void)clock_reading;
#endif
    return 0;
}
