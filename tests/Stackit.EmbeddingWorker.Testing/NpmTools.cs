namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// Node packages the tests run (Azurite, the reference tokenizer), each a pinned version installed with npm into
/// <c>.tools/&lt;package&gt;</c> on first use, so a fresh clone needs nothing but Node.js and npm.
/// </summary>
internal static class NpmTools
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The install directory of <paramref name="package"/>@<paramref name="version"/>, once <paramref name="expected"/> (relative to it) exists.</summary>
    public static async Task<string> InstallAsync(string package, string version, string expected)
    {
        var prefix = Path.Combine(RepositoryPaths.Root, ".tools", package);
        await Gate.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(prefix, expected)))
            {
                return prefix;
            }
            Directory.CreateDirectory(prefix);
            var (code, stdout, stderr) = await ProcessRun.RunAsync("npm", ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", $"{package}@{version}"], null, TimeSpan.FromMinutes(5));
            if (code != 0 || !File.Exists(Path.Combine(prefix, expected)))
            {
                throw new InvalidOperationException($"npm install {package}@{version} failed ({code}): {stdout}{stderr}");
            }
            return prefix;
        }
        finally
        {
            Gate.Release();
        }
    }
}
