using Azure.Storage.Blobs;
using Stackit.EmbeddingWorker.Intake;

namespace Stackit.EmbeddingWorker.Tests.Intake;

/// <summary>Which addresses a claim-check may name: blobs inside the configured container, nothing else.</summary>
public sealed class ClaimCheckStoreTests
{
    private static readonly ClaimCheckStore Store = new(new BlobContainerClient(new Uri("https://acct.blob.core.windows.net/embedding-jobs")), new BlobOptions());

    [Theory]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/big-1.json", "big-1.json")]
    [InlineData("https://ACCT.blob.core.windows.net/embedding-jobs/2026/11/big%20one.json?sv=x&sig=y", "2026/11/big one.json")]
    public void Blobs_in_the_container_are_named_by_their_path(string uri, string expected) =>
        Assert.Equal(expected, Store.BlobName(uri));

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("https://other.blob.core.windows.net/embedding-jobs/x.json")]
    [InlineData("http://acct.blob.core.windows.net/embedding-jobs/x.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs-evil/x.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/../secrets/x.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/")]
    [InlineData("file:///etc/passwd")]
    [InlineData("embedding-jobs/x.json")]
    public void Anything_else_is_refused(string uri) => Assert.Null(Store.BlobName(uri));
}
