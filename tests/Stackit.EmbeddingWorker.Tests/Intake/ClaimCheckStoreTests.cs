using Azure.Storage.Blobs;
using Stackit.EmbeddingWorker.Intake;
using Stackit.EmbeddingWorker.Testing;

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
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/..%5csecrets%5cx.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/a%5c..%5c..%5cx.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/%2e%2e/x.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/a//x.json")]
    [InlineData("https://acct.blob.core.windows.net/embedding-jobs/x%0a.json")]
    [InlineData("file:///etc/passwd")]
    [InlineData("embedding-jobs/x.json")]
    public void Anything_else_is_refused(string uri) => Assert.Null(Store.BlobName(uri));

    [Fact]
    public async Task Blob_storage_that_does_not_answer_is_a_transient_failure_not_an_exception()
    {
        // A closed loopback port: Azure.Core gives up after its retries with an AggregateException.
        var container = $"http://127.0.0.1:{FreePort.OnLoopback()}/devstoreaccount1/embedding-jobs";
        var client = new BlobContainerClient(new Uri(container), new BlobClientOptions { Retry = { MaxRetries = 1, Delay = TimeSpan.FromMilliseconds(10) } });
        var store = new ClaimCheckStore(client, new BlobOptions());

        var read = await store.ReadAsync(container + "/big-1.json", TestContext.Current.CancellationToken);

        Assert.True(read.IsTransient);
        Assert.Contains("big-1.json", read.Error, StringComparison.Ordinal);
    }
}
