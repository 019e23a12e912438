/* The header compiles clean as strict C11 (and, copied to header_check.cpp by CMake, as C++17), and the
 * library it declares links and agrees with it. */
#include "refresh_token_core.h"
#include "refresh_token_core.h" /* include guard */

#include <stdio.h>
#include <string.h>

int main(void) {
    if (rtc_abi_version() != RTC_ABI_VERSION || strcmp(rtc_version(), RTC_VERSION) != 0) {
        fprintf(stderr, "header and library disagree\n");
        return 1;
    }
    rtc_time none = RTC_TIME_NONE;
    (void)none;
    return 0;
}
