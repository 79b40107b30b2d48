// ptir_app: runs the `main` of a model compiled by `ptirc lower --target llvm-cpu`
// on IREE's C runtime, by the ABI in docs/abi.md.
//
//   ptir_app MODEL.vmfb [--params W.safetensors] [--input X.npy]... [--output Y.npy]...
//            [--device local-task|local-sync] [--threads N] [--bench RUNS [--warmup N]]
//            [--allow-unsealed]
//
// ptir_app_embedded takes the same options without MODEL.vmfb: its module was
// compiled into the binary by iree-c-embed-data. Every failure ends the program
// with one line on stderr and exit code 1 (2 for a usage error), never a crash.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iree/base/tooling/flags.h"
#include "iree/io/file_contents.h"
#include "iree/io/file_handle.h"
#include "iree/io/formats/parser_registry.h"
#include "iree/io/parameter_index.h"
#include "iree/io/parameter_index_provider.h"
#include "iree/io/stdio_stream.h"
#include "iree/modules/io/parameters/module.h"
#include "iree/runtime/api.h"
#include "iree/tooling/numpy_io.h"
#include "iree/vm/bytecode/module.h"
#include "sha256.h"
#ifdef PTIR_EMBEDDED_MODULE
#include "embedded_module.h"
#define PROGRAM "ptir_app_embedded"
#define MODULE_ARG ""
#else
#define PROGRAM "ptir_app"
#define MODULE_ARG " MODEL.vmfb"
#endif

#define MAX_FILES 32
#define MAX_RANK 16
#define MAX_RESULT_PRINT 16  // elements printed per result; --output has them all

typedef struct {
  const char* module_path;  // "<embedded module>" in ptir_app_embedded
  const char* params[MAX_FILES];
  int param_count;
  const char* inputs[MAX_FILES];
  int input_count;
  const char* outputs[MAX_FILES];
  int output_count;
  const char* device;
  int threads;  // local-task workers; 0 = IREE's default (one per physical core)
  int bench_runs, warmup;
  int allow_unsealed;  // load a module without ptirc's checksum (see unseal)
} options_t;

// One argument of main as ptir.signature declares it.
typedef struct {
  char name[64];
  char type[128];   // e.g. tensor<4x8xf32>
  char param[128];  // a weight's parameter key, "" for an input passed by the caller
} signature_arg_t;

//===----------------------------------------------------------------------===//
// Errors: one line on stderr
//===----------------------------------------------------------------------===//

// What the app is doing, to say where a failure happened ("reading x.npy").
static char g_doing[512] = "starting";
#define DOING(...) snprintf(g_doing, sizeof(g_doing), __VA_ARGS__)

// The app's own errors carry no source location: the message says it all.
#define APP_ERROR(...) \
  iree_status_allocate_f(IREE_STATUS_INVALID_ARGUMENT, NULL, 0, __VA_ARGS__)

// Prints |status| as one line (IREE's messages can span lines: VM stack traces,
// nested causes) without IREE's source location, and consumes it.
static int report(iree_status_t status) {
  iree_allocator_t host = iree_allocator_system();
  char* text = NULL;
  iree_host_size_t length = 0;
  const char* message = iree_status_code_string(iree_status_code(status));
  if (iree_status_to_string(status, &host, &text, &length)) {
    message = text;
    iree_status_source_location_t where = iree_status_source_location(status);
    if (where.file) {  // "file:line: CODE; message" -> "CODE; message"
      const char* rest = strstr(text + strlen(where.file), ": ");
      if (rest) message = rest + 2;
    }
    for (char* c = text; *c; ++c) {
      if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    }
  }
  fprintf(stderr, PROGRAM ": error: %s: %s\n", g_doing, message);
  iree_allocator_free(host, text);
  iree_status_free(status);
  return 1;
}

#define USAGE                                                                  \
  "usage: " PROGRAM MODULE_ARG " [--params W.safetensors]... [--input X.npy]... " \
  "[--output Y.npy]... [--device local-task|local-sync] [--threads N] "         \
  "[--bench RUNS [--warmup N]] [--allow-unsealed]"

static int usage_error(const char* what, const char* arg) {
  fprintf(stderr, PROGRAM ": error: %s%s (" USAGE ")\n", what, arg);
  return 2;
}

//===----------------------------------------------------------------------===//
// The module: mapped, its PTIR seal checked, then handed to IREE
//===----------------------------------------------------------------------===//

// ptirc appends "\n#PTIR-SHA256:<64 hex>\n" to each .vmfb it writes
// (docs/guarantees.md); IREE reads a module from its header and ignores trailing
// bytes. IREE verifies a module's FlatBuffer but not the machine code of its
// executables: a damaged module can crash the process (SIGSEGV, SIGILL with a few
// flipped bits, measured). So a damaged seal is refused, and a module without one
// (another tool's, or one cut short) only loads with --allow-unsealed.
#define SEAL_MARK "#PTIR-SHA256:"
#define SEAL_SIZE (1 + sizeof(SEAL_MARK) - 1 + 64 + 1)

static iree_status_t unseal(const char* path, int allow_unsealed,
                            iree_const_byte_span_t* data) {
  // Same rule as ptirc's unseal(): the mark near the end claims a seal.
  size_t n = data->data_length, mark = sizeof(SEAL_MARK) - 1;
  size_t window = n < SEAL_SIZE + 16 ? n : SEAL_SIZE + 16;
  int claimed = 0;
  for (size_t i = n - window; !claimed && i + mark <= n; ++i) {
    claimed = memcmp(data->data + i, SEAL_MARK, mark) == 0;
  }
  if (!claimed && allow_unsealed) return iree_ok_status();
  if (!claimed) {
    return APP_ERROR("%s has no PTIR seal (not written by ptirc, or cut short): "
                     "IREE cannot check it; pass --allow-unsealed to load it anyway",
                     path);
  }
  int intact = 0;
  if (n >= SEAL_SIZE) {
    const uint8_t* footer = data->data + n - SEAL_SIZE;
    char digest[65];
    ptir_sha256_hex(data->data, n - SEAL_SIZE, digest);
    intact = footer[0] == '\n' && !memcmp(footer + 1, SEAL_MARK, mark) &&
             !memcmp(footer + 1 + mark, digest, 64) && footer[SEAL_SIZE - 1] == '\n';
  }
  if (!intact) {
    return APP_ERROR("%s is damaged: its PTIR checksum does not match its contents", path);
  }
  data->data_length = n - SEAL_SIZE;
  return iree_ok_status();
}

static iree_status_t load_module(iree_vm_instance_t* vm, const options_t* o,
                                 iree_allocator_t host, iree_vm_module_t** out) {
  const char* path = o->module_path;
  iree_io_file_contents_t* contents = NULL;
  iree_const_byte_span_t data;
  iree_allocator_t data_deallocator = iree_allocator_null();
#ifdef PTIR_EMBEDDED_MODULE
  (void)path;
  const iree_file_toc_t* toc = ptir_embedded_module_create();
  data = iree_make_const_byte_span(toc->data, toc->size);
#else
  // Mapped, not read: a module with its weights embedded can be hundreds of MB.
  IREE_RETURN_IF_ERROR(iree_io_file_contents_map(
      iree_make_cstring_view(path), IREE_IO_FILE_ACCESS_READ, host, &contents));
  data = contents->const_buffer;
  data_deallocator = iree_io_file_contents_deallocator(contents);
#endif
  iree_status_t status = unseal(path, o->allow_unsealed, &data);
  if (iree_status_is_ok(status)) {
    // On success the module owns the mapping and unmaps it when destroyed.
    status = iree_vm_bytecode_module_create(vm, IREE_VM_BYTECODE_MODULE_FLAG_NONE,
                                            data, data_deallocator, host, out);
  }
  if (!iree_status_is_ok(status) && contents) iree_io_file_contents_free(contents);
  return status;
}

//===----------------------------------------------------------------------===//
// ptir.signature: which arguments main takes, in which order and type
//===----------------------------------------------------------------------===//

// Returns the value after `"key":` in [p, end), or NULL. ptirc writes this JSON
// with json.dumps and its names and types hold no quotes, braces or escapes, so
// a scanner suffices; anything else makes the signature unreadable, not a crash.
static const char* json_value(const char* p, const char* end, const char* key) {
  size_t k = strlen(key);
  for (; p + k + 2 < end; ++p) {
    if (p[0] == '"' && !strncmp(p + 1, key, k) && p[k + 1] == '"') {
      const char* v = p + k + 2;
      while (v < end && (*v == ' ' || *v == ':')) ++v;
      return v < end ? v : NULL;
    }
  }
  return NULL;
}

static int json_string(const char* v, const char* end, char* out, size_t cap) {
  if (!v || *v != '"') return 0;
  const char* close = memchr(v + 1, '"', (size_t)(end - v - 1));
  if (!close || (size_t)(close - v - 1) >= cap) return 0;
  memcpy(out, v + 1, (size_t)(close - v - 1));
  out[close - v - 1] = 0;
  return 1;
}

// Fills |args| (room for |cap|) from the signature; returns the count, or -1.
static int parse_signature(iree_string_view_t json, signature_arg_t* args, int cap) {
  const char* end = json.data + json.size;
  const char* p = json_value(json.data, end, "args");
  if (!p || *p != '[') return -1;
  int count = 0;
  for (++p; p < end && *p != ']';) {
    if (*p != '{') { ++p; continue; }
    const char* close = memchr(p, '}', (size_t)(end - p));
    if (!close || count == cap) return -1;
    signature_arg_t* a = &args[count++];
    const char* param = json_value(p, close, "param");
    if (!json_string(json_value(p, close, "name"), close, a->name, sizeof(a->name)) ||
        !json_string(json_value(p, close, "type"), close, a->type, sizeof(a->type)) ||
        !param || (strncmp(param, "null", 4) != 0 &&
                   !json_string(param, close, a->param, sizeof(a->param)))) {
      return -1;
    }
    p = close + 1;
  }
  return p < end ? count : -1;
}

// Reads "tensor<4x8xf32>" (PTIR's element types are IREE's names for them);
// returns 0 for anything else, which is left to IREE's own checks.
static int parse_tensor_type(const char* text, iree_host_size_t* rank,
                             iree_hal_dim_t dims[MAX_RANK], iree_hal_element_type_t* type) {
  iree_string_view_t inner = iree_make_cstring_view(text);
  if (!iree_string_view_consume_prefix(&inner, IREE_SV("tensor<")) ||
      !iree_string_view_consume_suffix(&inner, IREE_SV(">"))) {
    return 0;
  }
  iree_status_t status =
      iree_hal_parse_shape_and_element_type(inner, MAX_RANK, rank, dims, type);
  return iree_status_consume_code(status) == IREE_STATUS_OK;
}

// Checks an input against its declared tensor type before IREE sees it, so that
// a wrong file is named in the error rather than reported as "input0 mismatch".
static iree_status_t check_input(const char* path, const signature_arg_t* arg,
                                 iree_hal_buffer_view_t* view) {
  iree_host_size_t rank = 0;
  iree_hal_dim_t dims[MAX_RANK];
  iree_hal_element_type_t want = IREE_HAL_ELEMENT_TYPE_NONE;
  if (!parse_tensor_type(arg->type, &rank, dims, &want)) return iree_ok_status();
  iree_hal_element_type_t have = iree_hal_buffer_view_element_type(view);
  // numpy says int32 where PTIR says i32 (signless): integers of one width match.
  int both_int = iree_hal_element_numerical_type_is_integer(have) &&
                 iree_hal_element_numerical_type_is_integer(want) &&
                 !iree_hal_element_numerical_type_is_boolean(have) &&
                 !iree_hal_element_numerical_type_is_boolean(want);
  int ok = rank == iree_hal_buffer_view_shape_rank(view) &&
           (have == want ||
            (both_int && iree_hal_element_bit_count(have) == iree_hal_element_bit_count(want)));
  for (iree_host_size_t i = 0; ok && i < rank; ++i) {
    ok = dims[i] == iree_hal_buffer_view_shape_dim(view, i);
  }
  if (ok) return iree_ok_status();
  char shape[128] = "?", dtype[32] = "?";
  iree_host_size_t len = 0;
  iree_status_ignore(iree_hal_format_shape(iree_hal_buffer_view_shape_rank(view),
                                           iree_hal_buffer_view_shape_dims(view),
                                           sizeof(shape), shape, &len));
  iree_status_ignore(iree_hal_format_element_type(have, sizeof(dtype), dtype, &len));
  return APP_ERROR("%s holds %s%s%s but main's argument %%%s is %s", path, shape,
                   shape[0] ? "x" : "", dtype, arg->name, arg->type);
}

//===----------------------------------------------------------------------===//
// Weights: IREE named parameters in the scope "model"
//===----------------------------------------------------------------------===//

// IREE's index keeps a byte range per key, no shape or type, and its loader reads
// the first bytes of a range that is too long: a weight of the wrong shape would
// load as garbage. Checking each byte count against ptir.signature catches that
// (not a transposed weight of the same size), and names the weight.
static iree_status_t check_weights(iree_io_parameter_index_t* index,
                                   const signature_arg_t* args, int arg_count) {
  for (int i = 0; i < arg_count; ++i) {
    if (!args[i].param[0]) continue;
    const iree_io_parameter_index_entry_t* entry = NULL;
    iree_status_t found = iree_io_parameter_index_lookup(
        index, iree_make_cstring_view(args[i].param), &entry);
    if (!iree_status_is_ok(found)) {
      iree_status_ignore(found);
      return APP_ERROR("no weight named '%s' (main's %%%s: %s)", args[i].param,
                       args[i].name, args[i].type);
    }
    iree_host_size_t rank = 0;
    iree_hal_dim_t dims[MAX_RANK];
    iree_hal_element_type_t type = IREE_HAL_ELEMENT_TYPE_NONE;
    if (!parse_tensor_type(args[i].type, &rank, dims, &type)) continue;
    uint64_t bytes = iree_hal_element_dense_byte_count(type);
    for (iree_host_size_t d = 0; d < rank; ++d) bytes *= dims[d];
    if (entry->length != bytes) {
      return APP_ERROR("weight '%s' has %" PRIu64 " bytes but main's %%%s is %s (%" PRIu64
                       " bytes)",
                       args[i].param, entry->length, args[i].name, args[i].type, bytes);
    }
  }
  return iree_ok_status();
}

// Indexes the weight files, wraps the index in a provider for the scope "model"
// (docs/abi.md) and the provider in the io_parameters module: the compiled
// module's initializer imports it to load each weight by its ptir.param name.
// As `iree-run-module --parameters=model=W.safetensors` does (iree/tooling/
// parameter_util.c). The module keeps the provider, the index and the files.
static iree_status_t create_parameters_module(iree_vm_instance_t* vm, const options_t* o,
                                              const signature_arg_t* args, int arg_count,
                                              iree_allocator_t host,
                                              iree_vm_module_t** out) {
  iree_io_parameter_index_t* index = NULL;
  IREE_RETURN_IF_ERROR(iree_io_parameter_index_create(host, &index));
  iree_status_t status = iree_ok_status();
  for (int i = 0; i < o->param_count && iree_status_is_ok(status); ++i) {
    DOING("reading weights from %s", o->params[i]);
    iree_string_view_t path = iree_make_cstring_view(o->params[i]);
    iree_io_file_handle_t* file = NULL;
    status = iree_io_file_handle_open(
        IREE_IO_FILE_MODE_READ | IREE_IO_FILE_MODE_SHARE_READ, path, host, &file);
    if (iree_status_is_ok(status)) {
      status = iree_io_parse_file_index(path, file, index, host);
    }
    if (file) iree_io_file_handle_release(file);  // the index retains it
  }
  if (iree_status_is_ok(status)) {
    DOING("checking the weights in %s%s", o->params[0], o->param_count > 1 ? ", ..." : "");
    status = check_weights(index, args, arg_count);
  }
  iree_io_parameter_provider_t* provider = NULL;
  if (iree_status_is_ok(status)) {
    status = iree_io_parameter_index_provider_create(
        IREE_SV("model"), index,
        IREE_IO_PARAMETER_INDEX_PROVIDER_DEFAULT_MAX_CONCURRENT_OPERATIONS, host,
        &provider);
  }
  if (iree_status_is_ok(status)) {
    status = iree_io_parameters_module_create(vm, 1, &provider, host, out);
  }
  if (provider) iree_io_parameter_provider_release(provider);
  iree_io_parameter_index_release(index);
  return status;
}

//===----------------------------------------------------------------------===//
// Inputs and outputs: .npy files through IREE's numpy helpers
//===----------------------------------------------------------------------===//

static iree_status_t read_npy(const char* path, iree_hal_device_t* device,
                              iree_allocator_t host, iree_hal_buffer_view_t** out) {
  iree_io_stream_t* stream = NULL;
  IREE_RETURN_IF_ERROR(iree_io_stdio_stream_open(
      IREE_IO_STDIO_STREAM_MODE_READ, iree_make_cstring_view(path), host, &stream));
  // Device-local and read-only to the program: the local devices share host
  // memory, so this is one copy from the file and none at call time.
  iree_hal_buffer_params_t params = {
      .usage = IREE_HAL_BUFFER_USAGE_DEFAULT,
      .access = IREE_HAL_MEMORY_ACCESS_READ,
      .type = IREE_HAL_MEMORY_TYPE_DEVICE_LOCAL,
  };
  iree_status_t status = iree_numpy_npy_load_ndarray(
      stream, IREE_NUMPY_NPY_LOAD_OPTION_DEFAULT, params, device,
      iree_hal_device_allocator(device), out);
  iree_io_stream_release(stream);
  return status;
}

static iree_status_t write_npy(const char* path, iree_hal_buffer_view_t* view,
                               iree_allocator_t host) {
  iree_io_stream_t* stream = NULL;
  IREE_RETURN_IF_ERROR(iree_io_stdio_stream_open(
      IREE_IO_STDIO_STREAM_MODE_WRITE | IREE_IO_STDIO_STREAM_MODE_DISCARD,
      iree_make_cstring_view(path), host, &stream));
  iree_status_t status = iree_numpy_npy_save_ndarray(
      stream, IREE_NUMPY_NPY_SAVE_OPTION_DEFAULT, view, host);
  iree_io_stream_release(stream);
  return status;
}

//===----------------------------------------------------------------------===//
// The run
//===----------------------------------------------------------------------===//

// One call of main: the inputs are pushed anew (the call list retains them, the
// caller keeps its references) and the results left in the call's output list.
static iree_status_t invoke(iree_runtime_call_t* call, iree_hal_buffer_view_t** inputs,
                            int input_count) {
  iree_runtime_call_reset(call);  // releases the previous call's results
  for (int i = 0; i < input_count; ++i) {
    IREE_RETURN_IF_ERROR(iree_runtime_call_inputs_push_back_buffer_view(call, inputs[i]));
  }
  return iree_runtime_call_invoke(call, /*flags=*/0);
}

static int compare_time(const void* a, const void* b) {
  iree_time_t x = *(const iree_time_t*)a, y = *(const iree_time_t*)b;
  return (x > y) - (x < y);
}

static iree_status_t run(const options_t* o, iree_runtime_session_t* session,
                         iree_vm_function_t main_fn, const signature_arg_t* args,
                         int arg_count) {
  iree_allocator_t host = iree_runtime_session_host_allocator(session);
  iree_hal_device_t* device = iree_runtime_session_device(session);

  // The inputs: one .npy per argument of main that is not a weight, in order.
  iree_hal_buffer_view_t* inputs[MAX_FILES] = {NULL};
  iree_status_t status = iree_ok_status();
  if (arg_count >= 0) {
    int expected = 0;
    for (int i = 0; i < arg_count; ++i) expected += !args[i].param[0];
    DOING("reading the inputs");
    if (o->input_count != expected) {
      status = APP_ERROR("main takes %d input(s) (--input, one .npy each, in order), got %d",
                         expected, o->input_count);
    }
  }
  for (int i = 0, a = 0; i < o->input_count && iree_status_is_ok(status); ++i, ++a) {
    DOING("reading input %s", o->inputs[i]);
    status = read_npy(o->inputs[i], device, host, &inputs[i]);
    while (a < arg_count && args[a].param[0]) ++a;
    if (iree_status_is_ok(status) && arg_count >= 0) {
      status = check_input(o->inputs[i], &args[a], inputs[i]);
    }
  }

  iree_runtime_call_t call;
  memset(&call, 0, sizeof(call));
  if (iree_status_is_ok(status)) {
    DOING("calling main");
    status = iree_runtime_call_initialize(session, main_fn, &call);
  }
  // Latency: warm-up calls (first-touch of weights, thread pool start), then the
  // median of the timed ones. The results printed are the last call's.
  int runs = o->bench_runs > 0 ? o->bench_runs : 1;
  int warmup = o->bench_runs > 0 ? o->warmup : 0;
  iree_time_t* times = NULL;
  if (iree_status_is_ok(status)) {
    status = iree_allocator_malloc(host, sizeof(iree_time_t) * runs, (void**)&times);
  }
  for (int r = 0; r < warmup + runs && iree_status_is_ok(status); ++r) {
    iree_time_t start = iree_time_now();
    status = invoke(&call, inputs, o->input_count);
    if (r >= warmup) times[r - warmup] = iree_time_now() - start;
  }
  if (iree_status_is_ok(status) && o->bench_runs > 0) {
    qsort(times, runs, sizeof(iree_time_t), compare_time);
    printf("latency: median %.3f ms, min %.3f ms, max %.3f ms over %d runs after %d "
           "warm-up (%s)\n",
           times[runs / 2] / 1e6, times[0] / 1e6, times[runs - 1] / 1e6, runs, warmup,
           o->device);
  }

  // The results, in return order: each popped view is ours to release.
  int result_count = iree_status_is_ok(status)
                         ? (int)iree_vm_list_size(iree_runtime_call_outputs(&call))
                         : 0;
  if (iree_status_is_ok(status) && o->output_count > result_count) {
    DOING("writing the results");
    status = APP_ERROR("main returns %d result(s) but %d --output paths were given",
                       result_count, o->output_count);
  }
  for (int i = 0; i < result_count && iree_status_is_ok(status); ++i) {
    iree_hal_buffer_view_t* result = NULL;
    DOING("reading result %d", i);
    status = iree_runtime_call_outputs_pop_front_buffer_view(&call, &result);
    if (iree_status_is_ok(status)) {
      printf("result%d: ", i);
      fflush(stdout);
      status = iree_hal_buffer_view_fprint(stdout, result, MAX_RESULT_PRINT, host);
      printf("\n");
    }
    if (iree_status_is_ok(status) && i < o->output_count) {
      DOING("writing result %d to %s", i, o->outputs[i]);
      status = write_npy(o->outputs[i], result, host);
    }
    iree_hal_buffer_view_release(result);
  }

  iree_allocator_free(host, times);
  iree_runtime_call_deinitialize(&call);
  for (int i = 0; i < o->input_count; ++i) iree_hal_buffer_view_release(inputs[i]);
  return status;
}

// Loads everything and runs; each step names itself in g_doing for the error.
static iree_status_t load_and_run(const options_t* o) {
  iree_runtime_instance_options_t instance_options;
  iree_runtime_instance_options_initialize(&instance_options);
  iree_runtime_instance_options_use_all_available_drivers(&instance_options);
  iree_runtime_instance_t* instance = NULL;
  DOING("creating the IREE runtime");
  IREE_RETURN_IF_ERROR(iree_runtime_instance_create(&instance_options,
                                                    iree_allocator_system(), &instance));
  iree_allocator_t host = iree_runtime_instance_host_allocator(instance);
  iree_vm_instance_t* vm = iree_runtime_instance_vm_instance(instance);
  iree_vm_module_t* module = NULL;
  iree_vm_module_t* params_module = NULL;
  iree_hal_device_t* device = NULL;
  iree_runtime_session_t* session = NULL;
  signature_arg_t* args = NULL;  // main's arguments, weights included
  int arg_count = -1;            // -1: no ptir.signature (a module another tool wrote)
  int weight_count = 0;

  DOING("loading %s", o->module_path);
  iree_status_t status = load_module(vm, o, host, &module);
  iree_vm_function_t main_fn;
  if (iree_status_is_ok(status)) {
    status = iree_vm_module_lookup_function_by_name(
        module, IREE_VM_FUNCTION_LINKAGE_EXPORT, IREE_SV("main"), &main_fn);
  }
  if (iree_status_is_ok(status)) {
    iree_string_view_t json =
        iree_vm_function_lookup_attr_by_name(&main_fn, IREE_SV("ptir.signature"));
    // Each argument is one JSON object: their count bounds the arguments'.
    int cap = 0;
    for (iree_host_size_t i = 0; i < json.size; ++i) cap += json.data[i] == '{';
    if (!iree_string_view_is_empty(json)) {
      status = iree_allocator_malloc(host, sizeof(*args) * (cap + 1), (void**)&args);
    }
    if (iree_status_is_ok(status) && args) {
      arg_count = parse_signature(json, args, cap + 1);
      if (arg_count < 0) status = APP_ERROR("its ptir.signature cannot be read");
    }
  }
  const char* first_weight = NULL;
  for (int i = arg_count - 1; i >= 0; --i) {
    if (args[i].param[0]) ++weight_count, first_weight = args[i].name;
  }
  if (iree_status_is_ok(status) && weight_count > 0 && o->param_count == 0) {
    // Caught here: IREE would only say that an import is missing.
    status = APP_ERROR("main reads %d weight(s) as IREE parameters (%%%s, ...): pass "
                       "--params W.safetensors, or lower with --embed-params",
                       weight_count, first_weight);
  }
  if (iree_status_is_ok(status) && o->param_count > 0) {
    status = create_parameters_module(vm, o, args, arg_count, host, &params_module);
  }

  if (iree_status_is_ok(status) && o->threads > 0) {
    // local-task sizes its thread pool from IREE's flags: set the one ptirc's
    // --threads sets, before the device exists.
    DOING("setting --threads %d", o->threads);
    char flag[64];
    snprintf(flag, sizeof(flag), "--task_topology_group_count=%d", o->threads);
    char* argv[] = {PROGRAM, flag, NULL};
    char** argv_ptr = argv;
    int argc = 2;
    status = iree_flags_parse(IREE_FLAGS_PARSE_MODE_DEFAULT, &argc, &argv_ptr);
  }
  if (iree_status_is_ok(status)) {
    DOING("creating the %s device", o->device);
    status = iree_runtime_instance_try_create_default_device(
        instance, iree_make_cstring_view(o->device), &device);
  }
  if (iree_status_is_ok(status)) {
    iree_runtime_session_options_t session_options;
    iree_runtime_session_options_initialize(&session_options);
    status = iree_runtime_session_create_with_device(instance, &session_options, device,
                                                     host, &session);
  }
  // Order matters: a module's imports resolve against the modules before it
  // (the session starts with IREE's hal module). Appending runs the module's
  // initializer, which loads the weights: a missing one fails here.
  if (iree_status_is_ok(status) && params_module) {
    DOING("loading the weights of %s", o->module_path);
    status = iree_runtime_session_append_module(session, params_module);
  }
  if (iree_status_is_ok(status)) {
    DOING("initializing %s", o->module_path);
    status = iree_runtime_session_append_module(session, module);
  }
  if (iree_status_is_ok(status)) {
    status = run(o, session, main_fn, args, arg_count);
  }

  iree_runtime_session_release(session);
  iree_hal_device_release(device);
  iree_vm_module_release(params_module);
  iree_vm_module_release(module);
  iree_allocator_free(host, args);
  iree_runtime_instance_release(instance);
  return status;
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

static int parse_count(const char* text, int min, int* out) {
  char* end = NULL;
  long value = strtol(text, &end, 10);
  if (!*text || *end || value < min || value > 1000000) return 0;
  *out = (int)value;
  return 1;
}

// The options that take a value, as --name VALUE or --name=VALUE.
enum { OPT_PARAMS, OPT_INPUT, OPT_OUTPUT, OPT_DEVICE, OPT_THREADS, OPT_BENCH, OPT_WARMUP };
static const char* const OPTIONS[] = {"--params",  "--input", "--output", "--device",
                                      "--threads", "--bench", "--warmup"};

static int add_file(const char** list, int* count, const char* value) {
  if (*count == MAX_FILES) return 0;
  list[(*count)++] = value;
  return 1;
}

int main(int argc, char** argv) {
  options_t o = {.device = "local-task", .warmup = 3};
#ifdef PTIR_EMBEDDED_MODULE
  o.module_path = "<embedded module>";
#endif
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      printf("%s\n", USAGE);
      return 0;
    }
    if (!strcmp(arg, "--allow-unsealed")) {
      o.allow_unsealed = 1;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0) {
      if (o.module_path) return usage_error("unexpected argument ", arg);
      o.module_path = arg;
      continue;
    }
    const char* eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    int opt = (int)IREE_ARRAYSIZE(OPTIONS) - 1;
    while (opt >= 0 && (strlen(OPTIONS[opt]) != name_len || strncmp(arg, OPTIONS[opt], name_len))) {
      --opt;
    }
    if (opt < 0) return usage_error("unknown option ", arg);
    const char* value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!value) return usage_error("missing value for ", arg);
    int ok = 1;
    switch (opt) {
      case OPT_PARAMS: ok = add_file(o.params, &o.param_count, value); break;
      case OPT_INPUT: ok = add_file(o.inputs, &o.input_count, value); break;
      case OPT_OUTPUT: ok = add_file(o.outputs, &o.output_count, value); break;
      case OPT_DEVICE: o.device = value; break;
      case OPT_THREADS: ok = parse_count(value, 1, &o.threads); break;
      case OPT_BENCH: ok = parse_count(value, 1, &o.bench_runs); break;
      case OPT_WARMUP: ok = parse_count(value, 0, &o.warmup); break;
    }
    if (!ok) {
      fprintf(stderr, PROGRAM ": error: bad %s '%s' (files: at most %d of a kind; counts: "
              "whole numbers, --warmup >= 0, others >= 1)\n", OPTIONS[opt], value, MAX_FILES);
      return 2;
    }
  }
  if (!o.module_path) return usage_error("no MODEL.vmfb given", "");
  iree_status_t status = load_and_run(&o);
  return iree_status_is_ok(status) ? 0 : report(status);
}
