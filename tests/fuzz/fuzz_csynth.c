/* fuzz_csynth.c - fuzz target of the Vitis/Vivado HLS synthesis report reader (rm_hls_report_load on a
 * csynth.xml via libxml2) and of what is done with a loaded report: the text table and the flat field
 * view used by the Lua binding. Input: the XML file. */
#include "fuzz_util.h"
#include "hlsgen/report.h"
#include <libxml/parser.h>

static void quiet(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rm_hls_report rep;
    static char buf[1 << 16];
    xmlSetGenericErrorFunc(NULL, quiet);
    const char *path = fz_file(0, data, size);
    rm_ctx ctx = {0};
    if (rm_hls_report_load(&ctx, path, &rep) != RM_OK) {
        if (!ctx.msg[0]) abort();
        return 0;
    }
    if (rep.nloops < 0 || rep.nloops > RM_HLS_MAX_LOOPS) abort();
    int need = rm_hls_report_format(&rep, buf, sizeof buf);
    if (need < 0) abort();
    if ((size_t)need < sizeof buf && strlen(buf) != (size_t)need) abort();
    char small[64];
    rm_hls_report_format(&rep, small, sizeof small);   /* truncation must stay in bounds */
    rm_hls_field fl;
    for (int i = 0; rm_hls_report_field(&rep, i, &fl); i++)
        if (!fl.name || (fl.is_str && !fl.str)) abort();
    return 0;
}
