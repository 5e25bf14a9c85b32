// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title Madiun Stable Coin (MSC): 1 MSC = Rp 1.00, 2 decimals, issued against the BUMD treasury ledger.
/// @notice Supply on chain mirrors the ledger account `msc:onchain`. Minters hold capped allowances
/// (a stolen minter key can do bounded harm), every mint carries a ledger reference that can be used
/// once, holders return tokens to the ledger only through `deposit` (a burn with a ledger reference),
/// and minting never pushes the supply above the last treasury-signed reserve attestation.
contract MadiunStableCoin is ERC20Permit, AccessControl, Pausable {
    bytes32 public constant MINTER_ADMIN_ROLE = keccak256("MINTER_ADMIN_ROLE");
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant BLOCKLISTER_ROLE = keccak256("BLOCKLISTER_ROLE");
    bytes32 public constant ATTESTER_ROLE = keccak256("ATTESTER_ROLE");

    bytes32 public constant RESERVE_ATTESTATION_TYPEHASH =
        keccak256("ReserveAttestation(uint256 amount,uint256 timestamp)");

    mapping(address minter => uint256 allowance) private _minterAllowance;
    mapping(address account => bool blocked) private _blocklisted;
    mapping(bytes32 ledgerRef => bool used) private _mintRefUsed;
    uint256 private _reserveCap;
    uint256 private _reserveTimestamp;

    event MinterConfigured(address indexed minter, uint256 allowance);
    event MinterRemoved(address indexed minter);
    event Mint(address indexed minter, address indexed to, uint256 amount, bytes32 indexed ledgerRef);
    event Deposit(address indexed from, uint256 amount, bytes32 indexed ledgerRef);
    event Blocklisted(address indexed account);
    event Unblocklisted(address indexed account);
    event ReserveAttested(uint256 amount, uint256 timestamp, address indexed attester);

    error AccountBlocklisted(address account);
    error MinterAllowanceExceeded(address minter, uint256 allowance, uint256 amount);
    error ReserveCapExceeded(uint256 supplyAfter, uint256 reserveCap);
    error LedgerRefAlreadyMinted(bytes32 ledgerRef);
    error ZeroLedgerRef();
    error ZeroAmount();
    error AttesterNotAuthorized(address signer);
    error AttestationNotNewer(uint256 timestamp, uint256 lastTimestamp);
    error AttestationFromFuture(uint256 timestamp, uint256 blockTimestamp);

    modifier notBlocklisted(address account) {
        _requireNotBlocklisted(account);
        _;
    }

    /// @param admin receives DEFAULT_ADMIN_ROLE; it grants every other role after deployment.
    constructor(address admin) ERC20("Madiun Stable Coin", "MSC") ERC20Permit("Madiun Stable Coin") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setRoleAdmin(MINTER_ROLE, MINTER_ADMIN_ROLE);
    }

    /// @notice MSC is denominated in sen: 100 units = Rp 1.00.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    // ---------------------------------------------------------------- minters

    /// @notice Make `minter` a minter with exactly `allowance` units left to mint.
    function configureMinter(address minter, uint256 allowance) external onlyRole(MINTER_ADMIN_ROLE) {
        _grantRole(MINTER_ROLE, minter);
        _minterAllowance[minter] = allowance;
        emit MinterConfigured(minter, allowance);
    }

    /// @notice Take the minter role and its remaining allowance away from `minter`.
    function removeMinter(address minter) external onlyRole(MINTER_ADMIN_ROLE) {
        _revokeRole(MINTER_ROLE, minter);
        _minterAllowance[minter] = 0;
        emit MinterRemoved(minter);
    }

    function minterAllowance(address minter) external view returns (uint256) {
        return _minterAllowance[minter];
    }

    function isMintRefUsed(bytes32 ledgerRef) external view returns (bool) {
        return _mintRefUsed[ledgerRef];
    }

    /// @notice Mint `amount` to `to` for the ledger transfer `ledgerRef`; each reference mints once.
    function mint(address to, uint256 amount, bytes32 ledgerRef)
        external
        onlyRole(MINTER_ROLE)
        whenNotPaused
        notBlocklisted(_msgSender())
    {
        if (amount == 0) revert ZeroAmount();
        if (ledgerRef == bytes32(0)) revert ZeroLedgerRef();
        if (_mintRefUsed[ledgerRef]) revert LedgerRefAlreadyMinted(ledgerRef);
        address minter = _msgSender();
        uint256 allowance = _minterAllowance[minter];
        if (amount > allowance) revert MinterAllowanceExceeded(minter, allowance, amount);
        uint256 supplyAfter = totalSupply() + amount;
        if (supplyAfter > _reserveCap) revert ReserveCapExceeded(supplyAfter, _reserveCap);
        _mintRefUsed[ledgerRef] = true;
        _minterAllowance[minter] = allowance - amount;
        _mint(to, amount);
        emit Mint(minter, to, amount, ledgerRef);
    }

    // ---------------------------------------------------------------- bridge deposit (burn)

    /// @notice Return `amount` of the caller's MSC to the ledger account named by `ledgerRef`.
    /// @dev The only way to burn: the service credits the holder once per Deposit event.
    function deposit(uint256 amount, bytes32 ledgerRef) external {
        if (amount == 0) revert ZeroAmount();
        if (ledgerRef == bytes32(0)) revert ZeroLedgerRef();
        _burn(_msgSender(), amount);
        emit Deposit(_msgSender(), amount, ledgerRef);
    }

    // ---------------------------------------------------------------- reserve attestation

    /// @notice Record a treasury-signed (EIP-712) reserve statement; anyone may relay it.
    function attestReserve(uint256 amount, uint256 timestamp, bytes calldata signature) external {
        if (timestamp <= _reserveTimestamp) revert AttestationNotNewer(timestamp, _reserveTimestamp);
        if (timestamp > block.timestamp) revert AttestationFromFuture(timestamp, block.timestamp);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(RESERVE_ATTESTATION_TYPEHASH, amount, timestamp)));
        address signer = ECDSA.recover(digest, signature);
        if (!hasRole(ATTESTER_ROLE, signer)) revert AttesterNotAuthorized(signer);
        _reserveCap = amount;
        _reserveTimestamp = timestamp;
        emit ReserveAttested(amount, timestamp, signer);
    }

    function reserveCap() external view returns (uint256) {
        return _reserveCap;
    }

    function reserveTimestamp() external view returns (uint256) {
        return _reserveTimestamp;
    }

    // ---------------------------------------------------------------- pause and blocklist

    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function blocklist(address account) external onlyRole(BLOCKLISTER_ROLE) {
        _blocklisted[account] = true;
        emit Blocklisted(account);
    }

    function unblocklist(address account) external onlyRole(BLOCKLISTER_ROLE) {
        _blocklisted[account] = false;
        emit Unblocklisted(account);
    }

    function isBlocklisted(address account) external view returns (bool) {
        return _blocklisted[account];
    }

    /// @dev A blocklisted spender may not move someone else's tokens either.
    function transferFrom(address from, address to, uint256 value)
        public
        override
        notBlocklisted(_msgSender())
        returns (bool)
    {
        return super.transferFrom(from, to, value);
    }

    // ---------------------------------------------------------------- hooks

    /// @dev Every balance change (transfer, mint, deposit) passes here: paused or blocklisted stops it.
    function _update(address from, address to, uint256 value) internal override whenNotPaused {
        if (from != address(0)) _requireNotBlocklisted(from);
        if (to != address(0)) _requireNotBlocklisted(to);
        super._update(from, to, value);
    }

    /// @dev Approvals (approve, permit, allowance spending) stop when paused or for blocklisted parties.
    function _approve(address owner, address spender, uint256 value, bool emitEvent)
        internal
        override
        whenNotPaused
    {
        _requireNotBlocklisted(owner);
        _requireNotBlocklisted(spender);
        super._approve(owner, spender, value, emitEvent);
    }

    function _requireNotBlocklisted(address account) private view {
        if (_blocklisted[account]) revert AccountBlocklisted(account);
    }
}
