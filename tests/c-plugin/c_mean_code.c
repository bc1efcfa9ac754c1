/* A metric plugin in pure C: the mean of the stored (non-zero) code values.
 *
 * The example of docs/plugin-abi.md, built with `cc` and checked through
 * the harness by tests/tests/c_plugin.rs:
 *
 *   cc -O2 -shared -fPIC -I plugins/abi/include -o libc_mean_code.so \
 *      tests/c-plugin/c_mean_code.c
 *   rdpbench plugins inspect ./libc_mean_code.so
 *   rdpbench check --plugin ./libc_mean_code.so --metrics c-mean-code --seeds 0
 *
 * It follows every rule of ABI v1: no NULL function pointer (the SAE slots
 * are stubs), every string it returns is its own and freed by free_string /
 * free_output, finite values only, "undefined" is status OK with a reason. */
#include "rdpbench.h"
#include <stdlib.h>
#include <string.h>

static const char SPEC[] =
    "{\"id\":\"c-mean-code\",\"version\":\"1\","
    "\"description\":\"Mean of the stored code values.\","
    "\"citation\":\"rdpbench C example\","
    "\"orientation\":\"higher_is_more_polysemantic\","
    "\"inputs\":[\"codes\"],"
    "\"examples\":[{\"description\":\"stored values 1, 2, 3: 2\","
    "\"codes\":[[1.0,0.0],[2.0,3.0]],\"expected\":2.0},"
    "{\"description\":\"nothing stored: undefined\",\"codes\":[[0.0]],\"expected\":null}]}";

/* A plugin-owned copy of `s` (the host gives it back to free_string). */
static RdpString own(const char *s) {
    size_t n = strlen(s);
    RdpString r = {(uint8_t *)malloc(n), n};
    if (r.ptr == NULL) { r.len = 0; return r; }
    memcpy(r.ptr, s, n);
    return r;
}

static void free_string(RdpString s) { free(s.ptr); }

static int32_t spec_json(uint32_t index, RdpString *out) {
    if (index != 0) { *out = own("metric index out of range"); return RDP_STATUS_ERROR; }
    *out = own(SPEC);
    return RDP_STATUS_OK;
}

static int32_t compute(uint32_t index, const RdpMetricInput *in, RdpMetricOutput *out) {
    if (index != 0 || in->struct_size < sizeof(RdpMetricInput)) {
        out->message = own("bad metric index or input struct size");
        return RDP_STATUS_ERROR;
    }
    if (in->codes.indptr == NULL) {                /* not declared? cannot happen */
        out->message = own("codes were not provided");
        return RDP_STATUS_ERROR;
    }
    if (in->codes.nnz == 0) {                      /* a legitimate answer */
        out->kind = RDP_OUTPUT_UNDEFINED;
        out->message = own("no code is stored");
        return RDP_STATUS_OK;
    }
    double sum = 0.0;
    for (uint64_t k = 0; k < in->codes.nnz; k++)  /* fixed order: deterministic */
        sum += in->codes.values == NULL ? 1.0 : (double)in->codes.values[k];
    out->kind = RDP_OUTPUT_VALUE;
    out->value = sum / (double)in->codes.nnz;      /* finite */
    out->per_latent_len = 0;                       /* no per-latent scores */
    return RDP_STATUS_OK;
}

static void free_output(RdpMetricOutput *o) {
    free(o->message.ptr);
    o->message.ptr = NULL;
    o->message.len = 0;
}

/* No SAE architectures here, but every slot must be a valid function. */
static int32_t no_sae_spec(uint32_t i, RdpString *out) {
    (void)i; *out = own("this library has no SAE architectures"); return RDP_STATUS_ERROR;
}
static int32_t no_train(uint32_t i, const RdpTrainRequest *r, RdpWeights *w, RdpString *e) {
    (void)i; (void)r; (void)w; *e = own("this library has no SAE architectures"); return RDP_STATUS_ERROR;
}
static void no_free_weights(RdpWeights *w) { (void)w; }
static int32_t no_encode(uint32_t i, const RdpWeightsView *w, RdpMatrix x, RdpCsrOwned *o, RdpString *e) {
    (void)i; (void)w; (void)x; (void)o; *e = own("this library has no SAE architectures"); return RDP_STATUS_ERROR;
}
static void no_free_csr(RdpCsrOwned *c) { (void)c; }

static const RdpPluginDecl DECL = {
    RDP_ABI_VERSION, sizeof(RdpPluginDecl), "c-example 1", free_string,
    1, spec_json, compute, free_output,
    0, no_sae_spec, no_train, no_free_weights, no_encode, no_free_csr,
};

const RdpPluginDecl *rdpbench_plugin_entry(void) { return &DECL; }
