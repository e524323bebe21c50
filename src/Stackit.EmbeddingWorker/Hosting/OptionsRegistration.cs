using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Hosting;

internal static class OptionsRegistration
{
    /// <summary>Binds a section, validates it when the host starts, and exposes the value as a singleton.</summary>
    public static IServiceCollection AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class
    {
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return services;
    }
}
