"""`--dtype auto`: the fastest precision that stays exact enough, for the machine at hand.

    mixed_bfloat16   conditioner networks in bfloat16, the flow's arithmetic (exp(s), log-dets,
                     the prior) in float32: where the hardware multiplies bfloat16 natively, a
                     GPU of compute capability >= 8 or a CPU with AMX (`amx_bf16` in
                     /proc/cpuinfo)
    mixed_float16    the same in float16 with loss scaling: older GPUs
    float32          everywhere else (an AVX2-only CPU has no native bfloat16 matmul: measured
                     no faster, and up to 8x slower without XLA; README "Benchmarks")

Measured on an AMD EPYC (AVX2): mixed_bfloat16 reaches the float32 test NLL within 0.0007
nats/dim. On an AMD EPYC with AVX512_BF16 but no AMX (Zen 4) oneDNN's bfloat16 matmul is 1.9x
float32 at 2048^3 but the training steps gain at most 1.2x (vector, without XLA) and nothing on
the digits model, so `auto` keeps float32 there (README "Benchmarks"). `auto` is not the
default: it has not been measured faster on an AMX host here.
"""
__all__ = ["DTYPE_CHOICES", "cpu_has_amx_bf16", "resolve_dtype"]

DTYPE_CHOICES = ("float32", "mixed_bfloat16", "mixed_float16", "float64", "auto")


def cpu_has_amx_bf16(cpuinfo="/proc/cpuinfo"):
    """True when the CPU flags list `amx_bf16` (Linux; False where the file is missing)."""
    try:
        with open(cpuinfo) as f:
            return any(line.startswith("flags") and " amx_bf16" in line for line in f)
    except OSError:
        return False


def resolve_dtype(dtype):
    """`dtype` itself, or for "auto" the policy this machine runs fastest, with the reason."""
    if dtype != "auto":
        return dtype, None
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get(
            "compute_capability", (0, 0))
        if tuple(capability) >= (8, 0):
            return "mixed_bfloat16", f"GPU compute capability {capability[0]}.{capability[1]}"
        return "mixed_float16", "a GPU without native bfloat16"
    if cpu_has_amx_bf16():
        return "mixed_bfloat16", "the CPU has AMX (amx_bf16)"
    return "float32", "no native bfloat16 on this CPU (no AMX) and no GPU"
