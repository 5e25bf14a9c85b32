"""The monthly audit digest: canonical leaves, Merkle trees, the bundle, and its verifier.

The verifier's modules (``canonical``, ``merkle``, ``verify``, ``cli``, and the transparency
log's ``consistency``, ``note``, ``checkpoint``, ``log_verify``, ``log_cli``, ``witness``,
``witness_server``) import only the standard library and PyNaCl, so that an auditor can
install and run them alone; ``anchor_rpc`` (web3) is imported only when
``msc-audit verify --rpc`` is asked to read anchors on chain.
"""
