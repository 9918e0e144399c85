//! Analysis: decode, run models, choose the focus, build a scene. (Stub.)
