/*
 * rdpbench plugin ABI, version 1: C declarations for plugin authors in C/C++.
 *
 * Mirrors plugins/abi/src/lib.rs; plugins/abi/tests/c_header.rs compiles this
 * header and checks every struct size and field offset against the Rust side.
 *
 * A plugin library exports one function:
 *     const RdpPluginDecl *rdpbench_plugin_entry(void);
 * returning a pointer to static data. The host checks abi_version and
 * struct_size (the first two fields, in every ABI version) before any call.
 * Every function returns RDP_STATUS_*; memory is freed by the side that
 * allocated it. Dense matrices are row-major float; CSR matrices use uint64_t
 * indptr and uint32_t column indices. Specs and configs are JSON (UTF-8).
 */
#ifndef RDPBENCH_H
#define RDPBENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RDP_ABI_VERSION 1u
#define RDP_ENTRY_SYMBOL "rdpbench_plugin_entry"

#define RDP_STATUS_OK 0
#define RDP_STATUS_ERROR 1
#define RDP_STATUS_PANIC 2

#define RDP_OUTPUT_VALUE 0u
#define RDP_OUTPUT_UNDEFINED 1u

/* Borrowed UTF-8 bytes, not NUL-terminated. */
typedef struct RdpStr {
    const uint8_t *ptr;
    uint64_t len;
} RdpStr;

/* UTF-8 bytes owned by the plugin; released by RdpPluginDecl.free_string. */
typedef struct RdpString {
    uint8_t *ptr;
    uint64_t len;
} RdpString;

/* Borrowed dense row-major matrix [rows, cols]; data == NULL: absent. */
typedef struct RdpMatrix {
    const float *data;
    uint64_t rows;
    uint64_t cols;
} RdpMatrix;

/* Borrowed CSR matrix; indptr == NULL: absent; values == NULL: pattern (all 1). */
typedef struct RdpCsr {
    const uint64_t *indptr;
    const uint32_t *indices;
    const float *values;
    uint64_t n_rows;
    uint64_t n_cols;
    uint64_t nnz;
} RdpCsr;

/* CSR matrix owned by the plugin (sae_encode output). */
typedef struct RdpCsrOwned {
    uint64_t *indptr;
    uint32_t *indices;
    float *values;
    uint64_t n_rows;
    uint64_t n_cols;
    uint64_t nnz;
} RdpCsrOwned;

/* Inputs of one metric evaluation. Shapes: decoder [d_sae, d_in],
 * encoder [d_in, d_sae], activations [n_tokens, d_in], codes CSR
 * [n_tokens, d_sae], labels CSR [n_tokens, n_concepts], concept_directions
 * [n_concepts, d_in] (oracle metrics only). */
typedef struct RdpMetricInput {
    uint32_t struct_size;
    uint64_t n_tokens;
    uint64_t d_in;
    uint64_t d_sae;
    uint64_t n_concepts;
    RdpMatrix decoder;
    RdpMatrix encoder;
    RdpMatrix activations;
    RdpCsr codes;
    RdpCsr labels;
    RdpMatrix concept_directions;
    RdpStr config;
    uint32_t per_latent;   /* 1: per-latent scores wanted; 0: not read */
} RdpMetricInput;

/* Result of one metric evaluation. The host owns the per-latent buffers
 * (room for per_latent_capacity = d_sae entries); the plugin owns message,
 * released when the host calls metric_free_output. */
typedef struct RdpMetricOutput {
    uint32_t kind;                 /* RDP_OUTPUT_VALUE or RDP_OUTPUT_UNDEFINED */
    double value;                  /* must be finite when kind == VALUE */
    uint64_t per_latent_capacity;  /* set by the host */
    double *per_latent;            /* host buffer */
    uint8_t *per_latent_defined;   /* host buffer: 1 defined, 0 undefined */
    uint64_t per_latent_len;       /* set by the plugin: 0 = none */
    RdpString message;             /* reason when undefined; error otherwise */
} RdpMetricOutput;

typedef int32_t (*RdpNextBatchFn)(void *ctx, float *out, uint64_t rows, uint64_t *written);
typedef void (*RdpProgressFn)(void *ctx, uint64_t step, uint64_t total, RdpStr json);

typedef struct RdpBatchSource {
    void *ctx;
    uint64_t d_in;
    RdpNextBatchFn next_batch;
} RdpBatchSource;

typedef struct RdpObserver {
    void *ctx;
    RdpProgressFn on_progress;
} RdpObserver;

typedef struct RdpTrainRequest {
    uint32_t struct_size;
    RdpStr config;
    RdpBatchSource data;
    RdpObserver observer;
} RdpTrainRequest;

typedef struct RdpTensorView {
    RdpStr name;
    const uint64_t *shape;
    uint64_t ndim;
    const float *data;
    uint64_t len;
} RdpTensorView;

typedef struct RdpWeightsView {
    RdpStr cfg_json;
    const RdpTensorView *tensors;
    uint64_t n_tensors;
} RdpWeightsView;

typedef struct RdpTensor {
    RdpString name;
    uint64_t *shape;
    uint64_t ndim;
    float *data;
    uint64_t len;
} RdpTensor;

typedef struct RdpWeights {
    RdpString cfg_json;
    RdpTensor *tensors;
    uint64_t n_tensors;
} RdpWeights;

typedef struct RdpPluginDecl {
    uint32_t abi_version;   /* RDP_ABI_VERSION */
    uint32_t struct_size;   /* sizeof(RdpPluginDecl) */
    const char *sdk_version;
    void (*free_string)(RdpString s);

    uint32_t metric_count;
    int32_t (*metric_spec_json)(uint32_t index, RdpString *out);
    int32_t (*metric_compute)(uint32_t index, const RdpMetricInput *input, RdpMetricOutput *out);
    void (*metric_free_output)(RdpMetricOutput *out);

    uint32_t sae_count;
    int32_t (*sae_spec_json)(uint32_t index, RdpString *out);
    int32_t (*sae_train)(uint32_t index, const RdpTrainRequest *request, RdpWeights *out, RdpString *error);
    void (*sae_free_weights)(RdpWeights *w);
    int32_t (*sae_encode)(uint32_t index, const RdpWeightsView *weights, RdpMatrix x, RdpCsrOwned *out, RdpString *error);
    void (*sae_free_csr)(RdpCsrOwned *c);
} RdpPluginDecl;

const RdpPluginDecl *rdpbench_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* RDPBENCH_H */
