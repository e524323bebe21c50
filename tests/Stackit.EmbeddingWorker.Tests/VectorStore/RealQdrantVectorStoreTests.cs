using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>The vector store contract against real Qdrant (QDRANT_ENDPOINT or Testcontainers); skipped, visibly, without one.</summary>
public sealed class RealQdrantVectorStoreTests(RealQdrantFixture qdrant) : VectorStoreContractTests, IClassFixture<RealQdrantFixture>
{
    protected override Uri? Endpoint => qdrant.Endpoint;

    protected override string SkipReason => qdrant.SkipReason;
}
