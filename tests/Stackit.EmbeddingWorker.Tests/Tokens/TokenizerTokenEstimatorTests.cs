using Microsoft.Extensions.DependencyInjection;
using Stackit.EmbeddingWorker.Tokens;
using Stackit.EmbeddingWorker.Tests.Embeddings;
using Stackit.EmbeddingWorker.Tests.Infrastructure;

namespace Stackit.EmbeddingWorker.Tests.Tokens;

public sealed class TokenizerTokenEstimatorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tokenizer-").FullName;

    [Fact]
    public void A_tiktoken_file_gives_exact_counts_plus_the_marker_the_server_adds()
    {
        var estimator = TokenizerTokenEstimator.Load(WriteTiktokenFile());

        // "the" is one token by the merges below; "xyz" is three single bytes.
        Assert.Equal(1 + TokenCalibration.TokensPerInput, estimator.Estimate("the"));
        Assert.Equal(3 + TokenCalibration.TokensPerInput, estimator.Estimate("xyz"));
    }

    [Fact]
    public async Task The_worker_counts_with_the_tokenizer_file_when_one_is_configured()
    {
        await using var server = await FakeEmbeddingServer.StartAsync();
        var file = WriteTiktokenFile();
        using var services = EmbeddingClientFactory.Services(server, configure: s => s["Embeddings:TokenizerFile"] = file);

        var estimator = services.GetRequiredService<ITokenEstimator>();

        Assert.IsType<TokenizerTokenEstimator>(estimator);
        Assert.Equal(2, estimator.Estimate("the"));
    }

    [Fact]
    public void A_tokenizer_file_of_an_unknown_kind_is_refused_with_the_setting_named()
    {
        var path = Path.Combine(_directory, "tokenizer.json");
        File.WriteAllText(path, "{}");

        var error = Assert.Throws<InvalidOperationException>(() => TokenizerTokenEstimator.Load(path));

        Assert.Contains("Embeddings:TokenizerFile", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Every byte, then the merges "th", "he" and "the".</summary>
    private string WriteTiktokenFile()
    {
        var path = Path.Combine(_directory, "test.tiktoken");
        TiktokenFile.Write(path, "th", "he", "the");
        return path;
    }
}
