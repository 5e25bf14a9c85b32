// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title AuditAnchor: append-only chain of monthly audit digests.
/// @notice One digest per period (e.g. 202501 for January 2025, Asia/Jakarta); periods only move
/// forward and each entry names the digest before it, so a published month can never be rewritten
/// and a gap or fork is visible to any auditor reading the chain.
contract AuditAnchor is AccessControl {
    bytes32 public constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");

    struct Anchor {
        bytes32 digest;
        bytes32 prevDigest;
        address publisher;
        uint64 blockNumber;
        uint64 timestamp;
    }

    mapping(uint64 period => Anchor anchor) private _anchors;
    uint64[] private _periods;

    event Anchored(uint64 indexed period, bytes32 indexed digest, bytes32 prevDigest, address indexed publisher);

    error ZeroPeriod();
    error ZeroDigest();
    error PeriodAlreadyAnchored(uint64 period, bytes32 digest);
    error PeriodNotAfterLatest(uint64 period, uint64 latestPeriod);
    error PrevDigestMismatch(bytes32 expected, bytes32 given);
    error PeriodNotAnchored(uint64 period);

    /// @param admin receives DEFAULT_ADMIN_ROLE; it grants PUBLISHER_ROLE after deployment.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Anchor `digest` for `period`; `prevDigest` must be the latest anchored digest (zero at first).
    function publish(uint64 period, bytes32 digest, bytes32 prevDigest) external onlyRole(PUBLISHER_ROLE) {
        if (period == 0) revert ZeroPeriod();
        if (digest == bytes32(0)) revert ZeroDigest();
        bytes32 existing = _anchors[period].digest;
        if (existing != bytes32(0)) revert PeriodAlreadyAnchored(period, existing);
        uint64 latest = latestPeriod();
        if (period <= latest) revert PeriodNotAfterLatest(period, latest);
        bytes32 expected = latest == 0 ? bytes32(0) : _anchors[latest].digest;
        if (prevDigest != expected) revert PrevDigestMismatch(expected, prevDigest);
        _anchors[period] = Anchor({
            digest: digest,
            prevDigest: prevDigest,
            publisher: _msgSender(),
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp)
        });
        _periods.push(period);
        emit Anchored(period, digest, prevDigest, _msgSender());
    }

    /// @notice The digest anchored for `period`, or zero when none is.
    function digestOf(uint64 period) external view returns (bytes32) {
        return _anchors[period].digest;
    }

    /// @notice The full record for `period`; reverts when the period is not anchored.
    function anchorOf(uint64 period) external view returns (Anchor memory) {
        Anchor memory anchor = _anchors[period];
        if (anchor.digest == bytes32(0)) revert PeriodNotAnchored(period);
        return anchor;
    }

    function latestPeriod() public view returns (uint64) {
        uint256 count = _periods.length;
        return count == 0 ? 0 : _periods[count - 1];
    }

    function latestDigest() external view returns (bytes32) {
        uint64 latest = latestPeriod();
        return latest == 0 ? bytes32(0) : _anchors[latest].digest;
    }

    function anchorCount() external view returns (uint256) {
        return _periods.length;
    }

    function periodAt(uint256 index) external view returns (uint64) {
        return _periods[index];
    }
}
