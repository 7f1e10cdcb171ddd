"""Adam paper §6.1, Figure 1 (right): logistic regression on IMDB bag-of-words, input dropout.

10,000-dimensional sparse bag-of-words features (the most frequent words of the training
reviews), 50% dropout noise on the inputs; Adam vs SGD+Nesterov vs AdaGrad with α/√t.

  python -m experiments.run --config=configs/lr_imdb.py      # needs tfds imdb_reviews
  python -m experiments.run --config=configs/lr_imdb.py:smoke
"""

from configs import common


def get_config(arg: str | None = None):
  args = common.parse_args(arg)
  config = common.base()
  config.num_epochs = 160  # Figure 1 (right) runs 160 passes over the data
  config.dataset.name = 'imdb_reviews'
  config.dataset.validation_size = 2500
  config.model.name = 'logistic_regression'
  config.model.dropout = True
  config.model.input_dropout = 0.5  # "50% dropout noise to the BoW features"
  config.model.l2 = 1e-5
  config.optimizer.schedule = 'inverse_sqrt'
  common.sweep(config, 'optimizer.name', ['adam', 'nesterov', 'adagrad'])
  common.sweep(config, 'optimizer.learning_rate', [0.003, 0.01, 0.03, 0.1, 0.3, 1.0])
  return common.finish(config, args)
