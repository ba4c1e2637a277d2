"""tfnvp bijectors: one `tfp.bijectors.Bijector` subclass per file."""
from tfnvp.bijectors.affine_coupling import AffineCoupling
from tfnvp.bijectors.batch_norm import BatchNorm
from tfnvp.bijectors.flow_bijector import FlowBijector, forward_and_log_det, inverse_and_log_det
from tfnvp.bijectors.logit import DEFAULT_ALPHA, LogitPreprocessing
from tfnvp.bijectors.multiscale import FactorOut, merge_latents, split_latents
from tfnvp.bijectors.squeeze import Squeeze

__all__ = ["AffineCoupling", "BatchNorm", "DEFAULT_ALPHA", "FactorOut", "FlowBijector",
           "LogitPreprocessing", "Squeeze", "forward_and_log_det", "inverse_and_log_det",
           "merge_latents", "split_latents"]
