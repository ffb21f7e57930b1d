/* cpp_check.hpp: what the C++ tests share: tests/check.h's CHECK (plain main, abort on
 * failure, so they run under ThreadSanitizer too) and a check that a call throws. */
#ifndef WEFT_TESTS_CPP_CHECK_HPP
#define WEFT_TESTS_CPP_CHECK_HPP
#include "check.h"

#include <weft.hpp>

/* Does f() throw an E? (Other exceptions propagate and fail the test.) */
template <class E, class F>
bool throws(F &&f)
{
    try {
        f();
    } catch (const E &) {
        return true;
    }
    return false;
}

/* Does f() throw weft::error with this (negative) code? */
template <class F>
bool throws_weft(int err, F &&f)
{
    try {
        f();
    } catch (const weft::error &e) {
        return e.err() == err && e.code() == std::error_code(-err, std::generic_category());
    }
    return false;
}
#endif
