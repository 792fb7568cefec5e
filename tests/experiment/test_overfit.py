"""Proof that both recipes learn: overfit a handful of training utterances."""

import jiwer
import pytest
import tensorflow as tf

from deepthin.data import VOCAB, FeatureConfig, extract_features, make_dataset
from deepthin.data.synth import SynthCorpus
from deepthin.experiment.ctc import decode, forward
from deepthin.experiment.decoders import LexiconCTCDecoder
from deepthin.experiment.trainer import Trainer, TrainerConfig
from recipes.presets import build, model_config

UTTERANCES = 4


@pytest.mark.parametrize("recipe, width", [("tfkaldi", 256), ("deepspeech", 96)])
@pytest.mark.slow
def test_greedy_cer_on_training_utterances_falls_below_10_percent(recipe, width, cache_dir, tmp_path):
    config = model_config(recipe)
    corpus = SynthCorpus(hours=0.02, dev_voices=2, test_voices=2, progress=False, cache_dir=cache_dir).load()
    examples = extract_features(corpus, FeatureConfig(**config.features), cache_dir=cache_dir)["train"]
    few = sorted(examples, key=lambda e: len(e.features))[:UTTERANCES]
    batches = make_dataset(few, batch_size=UTTERANCES)
    no_dropout = {"dropout": 0.0} if recipe == "deepspeech" else {}
    model = build(recipe, "tiny", VOCAB.size, width=width, **no_dropout)
    trainer = Trainer(TrainerConfig(epochs=8, learning_rate=3e-3, lr_schedule="constant", patience=100,
                                    progress=False, tensorboard=False), VOCAB.blank)
    model, state = trainer.fit(model, lambda epoch: batches.repeat(40), batches, 40, tmp_path)
    assert state.history[-1]["train_loss"] < state.history[0]["train_loss"] / 3
    refs, hyps, lexical = [], [], []
    lexicon = LexiconCTCDecoder(corpus.words(), VOCAB)
    for batch in batches:
        logits, lengths = forward(model, batch)
        hyps += [VOCAB.decode(ids) for ids in decode(logits, lengths, VOCAB.blank)]
        lexical += lexicon(logits, lengths)
        refs += [VOCAB.decode(labels[:n]) for labels, n in zip(batch["labels"].numpy(),
                                                               batch["label_lengths"].numpy(), strict=True)]
    cer = jiwer.cer(refs, hyps)
    assert cer < 0.1, (cer, list(zip(refs, hyps, strict=True)))
    # the lexicon beam search never scores worse than greedy decoding, beyond noise (~1 word of the ~30)
    pairs = list(zip(refs, hyps, lexical, strict=True))
    assert jiwer.wer(refs, lexical) <= jiwer.wer(refs, hyps) + 0.05, pairs
    tf.keras.backend.clear_session()
