using Grpc.Core;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>
/// One row per gRPC status Qdrant answers with (lib/storage/src/content_manager/conversions.rs) and per detail that
/// changes the meaning, with Qdrant's own wording where it has one: the table in docs/qdrant.md.
/// </summary>
public sealed class QdrantErrorsTests
{
    public static readonly TheoryData<StatusCode, string, string> Table = new()
    {
        { StatusCode.Unavailable, "Shard temporarily unavailable: shard 0 of documents_v1", nameof(QdrantFailure.Transient) },
        { StatusCode.DeadlineExceeded, "Timeout: Operation 'update' timed out after 30 seconds", nameof(QdrantFailure.Transient) },
        { StatusCode.ResourceExhausted, "Rate limiting exceeded: Write rate limit exceeded: Operation requires 10 tokens but only 2 were available.", nameof(QdrantFailure.Transient) },
        { StatusCode.Internal, "Service internal error: RocksDB write failed", nameof(QdrantFailure.Transient) },
        { StatusCode.FailedPrecondition, "Pre-condition failure: No target shard 0 found for update", nameof(QdrantFailure.Transient) },
        { StatusCode.FailedPrecondition, "Storage locked: writes are locked by the administrator", nameof(QdrantFailure.Transient) },
        { StatusCode.Aborted, "", nameof(QdrantFailure.Transient) },
        { StatusCode.Unknown, "", nameof(QdrantFailure.Transient) },
        { StatusCode.Cancelled, "", nameof(QdrantFailure.Transient) },
        { StatusCode.InvalidArgument, "Wrong input: Vector dimension error: expected dim: 8, got 4", nameof(QdrantFailure.Rejected) },
        { StatusCode.InvalidArgument, "Wrong input: Can't create collection with name documents_v1. Alias with the same name already exists", nameof(QdrantFailure.Rejected) },
        { StatusCode.InvalidArgument, "Bad request: Index required but not found for \"version\" of one of the following types: [integer]. Help: Create an index for this key or use a different filter.", nameof(QdrantFailure.Refused) },
        { StatusCode.OutOfRange, "", nameof(QdrantFailure.Rejected) },
        { StatusCode.NotFound, "Not found: Collection `documents_v9` doesn't exist!", nameof(QdrantFailure.Missing) },
        { StatusCode.AlreadyExists, "Wrong input: Collection `documents_v1` already exists!", nameof(QdrantFailure.AlreadyExists) },
        { StatusCode.PermissionDenied, "Forbidden: Write access to collection documents is required", nameof(QdrantFailure.Refused) },
        { StatusCode.Unauthenticated, "Invalid api-key", nameof(QdrantFailure.Refused) },
        { StatusCode.Unimplemented, "Can't handle resharding, this is a single node deployment", nameof(QdrantFailure.Refused) },
        { StatusCode.DataLoss, "Checksum mismatch: expected a, actual b", nameof(QdrantFailure.Refused) },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Each_status_means_what_qdrant_means_by_it(StatusCode code, string detail, string expected)
    {
        Assert.Equal(expected, QdrantErrors.Classify(code, detail).ToString());
    }

    [Fact]
    public void Every_status_code_has_a_row()
    {
        var covered = Table.Select(row => (StatusCode)row.Data.Item1).ToHashSet();

        var missing = Enum.GetValues<StatusCode>().Where(code => code != StatusCode.OK && !covered.Contains(code)).ToList();

        Assert.True(missing.Count == 0, "no row for " + string.Join(", ", missing));
    }
}
