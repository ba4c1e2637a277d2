"""tfnvp: Real NVP normalizing flows (Dinh et al., ICLR 2017) in TensorFlow 2 / Keras 3 / TFP."""
from tfnvp import bijectors, masks, nets
from tfnvp.accounting import bits_per_dim, nats_to_bits_per_dim
from tfnvp.completion import complete
from tfnvp.export import export_saved_model
from tfnvp.interpolation import interpolate, manifold
from tfnvp.model import RealNVP
from tfnvp.resampling import resample
from tfnvp.run import load_run

__version__ = "0.1.0"
__all__ = ["RealNVP", "bijectors", "bits_per_dim", "complete", "export_saved_model",
           "interpolate", "load_run", "manifold", "masks", "nats_to_bits_per_dim", "nets",
           "resample", "__version__"]
