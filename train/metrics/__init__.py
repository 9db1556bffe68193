"""Evaluation metrics of generated images, one module each.

    domain.py       fast metrics in the FashionMNIST classifier's feature space (seconds on a CPU)
    classifier.py   that classifier (DEFAULT_CLASSIFIER: the shipped models/fmnist_classifier.pt)
    inception.py    standard FID Inception features
    reference_stats.py  cached feature statistics of the real images
    fid.py          the Fréchet distance between two Gaussians
    precision_recall.py  improved precision and recall (k-NN manifolds)
    discriminator_accuracy.py  how well a discriminator's logits separate real from generated
"""
