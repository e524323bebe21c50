// One Azurite for the whole test run.
[assembly: AssemblyFixture(typeof(Stackit.EmbeddingWorker.Tests.Infrastructure.AzuriteFixture))]
