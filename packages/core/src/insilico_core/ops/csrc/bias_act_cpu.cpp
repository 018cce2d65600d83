// bias_act on the CPU: one pass over memory order, in parallel chunks (ATen's OpenMP thread pool), the
// activation and derivative order fixed at compile time so the inner loops vectorise.
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <type_traits>
#include <vector>

#include "activations.h"
#include "cpu_kernels.h"
#include "cpu_storage.h"

namespace insilico_ops {
namespace {

// One element of the op: the pointers it reads and its scalar parameters. The run loops copy it into a local,
// so the compiler knows that storing the output cannot change them (and keeps them in vector registers).
template <typename T, int A, int G>
struct Element {
    using S = Acc<T>;
    const T* x;
    const T* xref;
    const T* yref;
    const T* dy;
    S alpha, gain, inv_gain, clamp_hi;

    // what this activation and order read besides x
    static constexpr bool kReadsX = G > 0 && reads_input(A);
    static constexpr bool kReadsY = G > 0 && !reads_input(A) && A != LINEAR;
    static constexpr bool kReadsDy = G == 2;

    S operator()(int64_t i, S bias) const {
        S v = load(x[i]);
        S xr = kReadsX ? load(xref[i]) + bias : S(0);
        S yr = kReadsY ? load(yref[i]) : S(0);
        S d = kReadsDy ? load(dy[i]) : S(0);
        if (G == 0) v += bias;
        return bias_act_element<A, G, S>(v, xr, yr, d, alpha, gain, inv_gain, clamp_hi);
    }
};

template <typename T, int A, int G>
struct BiasActLoop {
    using S = Acc<T>;
    const BiasActArgs& p;
    const T* b = static_cast<const T*>(p.b);
    T* y = static_cast<T*>(p.y);
    Element<T, A, G> element{static_cast<const T*>(p.x), static_cast<const T*>(p.xref),
                             static_cast<const T*>(p.yref), static_cast<const T*>(p.dy), S(p.alpha), S(p.gain),
                             p.gain != 0 ? S(1 / p.gain) : S(0),
                             p.clamp >= 0 ? S(p.clamp) : std::numeric_limits<S>::infinity()};

    // elements [i0, i0 + n) share one bias value; returns their sum (for db)
    S run_scalar_bias(int64_t i0, int64_t n, S bias) const {
        const Element<T, A, G> e = element;
        T* const out = y + i0;
        S sum = S(0);
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < n; ++j) {
            S r = e(i0 + j, bias);
            out[j] = store<T>(r);
            sum += r;
        }
        return sum;
    }

    // elements [i0, i0 + channels) take bias[0 .. channels) (the bias dim is innermost, e.g. channels-last);
    // their values are added to sums[0 .. channels) when kSum
    template <bool kSum>
    void run_vector_bias(int64_t i0, const S* bias, S* sums) const {
        const Element<T, A, G> e = element;
        T* const out = y + i0;
        const int64_t n = p.channels;
#pragma omp simd
        for (int64_t c = 0; c < n; ++c) {
            S r = e(i0 + c, bias[c]);
            out[c] = store<T>(r);
            if constexpr (kSum) sums[c] += r;
        }
    }

    void operator()() const {
        const int64_t channels = b ? p.channels : 1;
        std::vector<S> bias(channels, S(0));
        for (int64_t c = 0; b && c < channels; ++c) bias[c] = load(b[c]);
        std::mutex db_mutex;
        auto merge = [&](const std::vector<double>& local) {
            std::lock_guard<std::mutex> guard(db_mutex);
            for (int64_t c = 0; c < channels; ++c) p.db[c] += local[c];
        };
        if (b && p.step == 1) {
            const int64_t rows = p.size / channels;
            const int64_t grain = std::max<int64_t>(1, 32768 / channels);
            at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
                if (!p.db) {
                    for (int64_t r = begin; r < end; ++r) run_vector_bias<false>(r * channels, bias.data(), nullptr);
                    return;
                }
                // per-row sums in S, gathered into double every row
                std::vector<S> row_sums(channels);
                std::vector<double> local(channels, 0.0);
                for (int64_t r = begin; r < end; ++r) {
                    std::fill(row_sums.begin(), row_sums.end(), S(0));
                    run_vector_bias<true>(r * channels, bias.data(), row_sums.data());
                    for (int64_t c = 0; c < channels; ++c) local[c] += double(row_sums[c]);
                }
                merge(local);
            });
            return;
        }
        // runs of constant bias: `step` elements per channel block (the whole tensor without a bias)
        const int64_t step = b ? p.step : p.size;
        at::parallel_for(0, p.size, 32768, [&](int64_t begin, int64_t end) {
            std::vector<double> local(p.db ? channels : 0, 0.0);
            for (int64_t i = begin; i < end;) {
                const int64_t block = i / step;
                const int64_t run_end = std::min(end, (block + 1) * step);
                const int64_t c = block % channels;
                S sum = run_scalar_bias(i, run_end - i, bias[c]);
                if (p.db) local[c] += double(sum);
                i = run_end;
            }
            if (p.db) merge(local);
        });
    }
};

template <typename T, int A>
void dispatch_grad(const BiasActArgs& p) {
    if (p.grad == 0) BiasActLoop<T, A, 0>{p}();
    else if (p.grad == 1) BiasActLoop<T, A, 1>{p}();
    else BiasActLoop<T, A, 2>{p}();
}

}  // namespace

template <typename T>
void bias_act_cpu(const BiasActArgs& p) {
    switch (p.act) {
        case LINEAR: return dispatch_grad<T, LINEAR>(p);
        case RELU: return dispatch_grad<T, RELU>(p);
        case LRELU: return dispatch_grad<T, LRELU>(p);
        case TANH: return dispatch_grad<T, TANH>(p);
        case SIGMOID: return dispatch_grad<T, SIGMOID>(p);
        case ELU: return dispatch_grad<T, ELU>(p);
        case SELU: return dispatch_grad<T, SELU>(p);
        case SOFTPLUS: return dispatch_grad<T, SOFTPLUS>(p);
        case SWISH: return dispatch_grad<T, SWISH>(p);
    }
}

template void bias_act_cpu<float>(const BiasActArgs&);
template void bias_act_cpu<double>(const BiasActArgs&);
template void bias_act_cpu<c10::BFloat16>(const BiasActArgs&);

}  // namespace insilico_ops
