namespace Stackit.EmbeddingWorker.Testing;

internal static class RepositoryPaths
{
    /// <summary>The folder that holds Stackit.EmbeddingWorker.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Stackit.EmbeddingWorker.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Stackit.EmbeddingWorker.sln not found above " + AppContext.BaseDirectory);
    }
}
