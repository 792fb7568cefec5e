"""The paper's two acoustic models, as Keras model builders and Hydra presets."""
