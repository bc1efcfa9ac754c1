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
 *
 * The full contract (every field, who frees what, threading) is
 * docs/plugin-abi.md. In short:
 *
 * Spec JSON. metric_spec_json writes one JSON object: id, version,
 * description, citation, orientation ("higher_is_more_polysemantic" or
 * "higher_is_less_polysemantic"), inputs (a subset of "decoder", "encoder",
 * "activations", "codes", "labels", "concept_directions"), optional examples;
 * unknown fields are rejected. sae_spec_json writes: id, version,
 * description, citation, saelens_architecture (the SAELens string the
 * weights are saved under), and optionally default_hyperparameters (an
 * object), hyperparameters (name, type int|float|bool|string|int_list,
 * default, range, description), sparsity_knob (the hyperparameter a sweep
 * varies; without it the architecture cannot be swept) and saelens
 * (loads: SAELens strings it encodes when a folder is loaded; tensors: name
 * and shape with "d_in"/"d_sae"/a number, in saving order; cfg_fields).
 * Unknown SAE spec fields are ignored. See docs/plugin-abi.md, sections
 * "Metric spec JSON" and "SAE spec fields".
 *
 * NULL pointers. None of the ten function pointers of RdpPluginDecl may be
 * NULL: the host calls them without a check (undefined behaviour, not an
 * error). (next_batch and on_progress of a train request are the host's and
 * are always set.) A library
 * without metrics (metric_count == 0) or without SAEs (sae_count == 0)
 * still fills those slots with stubs that return RDP_STATUS_ERROR (free_*
 * stubs do nothing); they are never called for an index >= count.
 * sdk_version may be NULL. The entry function must not return NULL.
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

/* Inputs of one metric evaluation, owned by the host and borrowed for the
 * call. struct_size is the host's sizeof(RdpMetricInput): refuse a smaller
 * one with RDP_STATUS_ERROR. Only the declared inputs are present. Shapes: decoder [d_sae, d_in],
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

/* Result of one metric evaluation. The host zero-initialises it and owns the
 * per-latent buffers (room for per_latent_capacity = d_sae entries, or NULL
 * with capacity 0 when per_latent == 0); the plugin owns message, released
 * when the host calls metric_free_output.
 *
 * Required on RDP_STATUS_OK: kind (VALUE or UNDEFINED; anything else is an
 * error); value when kind == VALUE, finite (NaN or inf is reported as a
 * plugin error); message when kind == UNDEFINED (the reason, shown in
 * reports). On RDP_STATUS_ERROR or RDP_STATUS_PANIC: message (the error).
 * Optional: per_latent_len (at most per_latent_capacity) with per_latent[j]
 * and per_latent_defined[j]; defined entries must be finite. "Undefined" is
 * a legitimate result: return RDP_STATUS_OK with kind UNDEFINED. */
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

/* One training run. config: the hyperparameters as a JSON object (the
 * spec's default_hyperparameters with the host's configuration merged over
 * them). Call data.next_batch and observer.on_progress only during the
 * sae_train call, one at a time; next_batch writes up to rows rows and
 * stores the count in *written (0: end of data). */
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

/* Weights returned by sae_train (plugin-owned, released by sae_free_weights,
 * which the host calls after every sae_train, whatever the status, so it
 * must accept the empty struct). Required on RDP_STATUS_OK: cfg_json, the
 * SAELens cfg.json text with architecture (= saelens_architecture), d_in,
 * d_sae and every declared cfg field; and exactly the tensors the spec
 * declares in saelens.tensors, each with len == product(shape). The host
 * checks names, shapes and finiteness against the declaration. */
typedef struct RdpWeights {
    RdpString cfg_json;
    RdpTensor *tensors;
    uint64_t n_tensors;
} RdpWeights;

/* The declaration rdpbench_plugin_entry returns (static data). The host
 * requires abi_version == RDP_ABI_VERSION and struct_size ==
 * sizeof(RdpPluginDecl) exactly. Every function pointer below must be
 * non-NULL (see the top of this file). sae_encode on RDP_STATUS_OK must
 * return a CSR with non-NULL indptr and n_rows == x.rows; the host frees it
 * with sae_free_csr after every call, whatever the status. */
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
