/* weft.h: the umbrella header. Include this and link libweft (find_package(weft) ->
 * weft::weft, or pkg-config weft). Each module's header can also be included alone. */
#ifndef WEFT_H
#define WEFT_H
#include <weft/common.h>
#include <weft/sync.h>
#include <weft/runtime.h>
#include <weft/inline.h>
#include <weft/par.h>
#include <weft/chan.h>
#include <weft/trace.h>
#endif
