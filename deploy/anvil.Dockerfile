# A local Ethereum node for the production-shaped compose file: anvil from the same pinned npm
# package as contracts/package.json. A testnet RPC (MSC_EVM_RPC_URL) replaces it in real use.
FROM node:20-slim@sha256:1c18d9ab3af4585870b92e4dbc5cac5a0dc77dd13df1a5905cea89fc720eb05b

ARG ANVIL_VERSION=1.7.1
RUN npm install --global --no-audit --no-fund "@foundry-rs/anvil@${ANVIL_VERSION}" \
    && ln -s "$(find /usr/local/lib/node_modules -path '*anvil-linux-*/bin/anvil' -type f | head -n1)" \
       /usr/local/bin/anvil-native \
    && /usr/local/bin/anvil-native --version

VOLUME ["/state"]
EXPOSE 8545
# The native binary, not the Node wrapper, is PID 1: SIGTERM reaches anvil, which dumps --state.
ENTRYPOINT ["/usr/local/bin/anvil-native", "--host", "0.0.0.0", "--port", "8545", \
            "--chain-id", "31337", "--state", "/state/state.json"]
