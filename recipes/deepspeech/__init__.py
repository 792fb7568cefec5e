"""Mozilla DeepSpeech: dense + LSTM acoustic model with CTC loss."""
