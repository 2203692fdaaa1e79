package uk.nhs.hee.tis.resilience.autoconfigure.token;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.security.oauth2.client.endpoint.RestClientClientCredentialsTokenResponseClient;
import org.springframework.security.oauth2.client.registration.ClientRegistrationRepository;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.token.ServiceTokenCache;

/**
 * Service-to-service tokens for the services that name a {@code client-registration}: fetched at
 * startup, refreshed ahead of expiry, used until they really expire while Keycloak is down, and sent
 * as the bearer token of protected calls to those services.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class,
		afterName = "org.springframework.boot.security.oauth2.client.autoconfigure.OAuth2ClientAutoConfiguration")
@ConditionalOnClass({ ClientRegistrationRepository.class, RestClientClientCredentialsTokenResponseClient.class })
@ConditionalOnBean(ClientRegistrationRepository.class)
@ConditionalOnSwitch("tis.resilience.enabled")
public final class ServiceTokenAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(ServiceTokenProvider.class)
	ClientCredentialsServiceTokens tisServiceTokens(TisResilienceProperties properties,
			ClientRegistrationRepository registrations) {
		Map<String, String> registrationByService = new LinkedHashMap<>();
		properties.services().forEach((service, settings) -> {
			if (settings.clientRegistration() != null) {
				registrationByService.put(service, settings.clientRegistration());
			}
		});
		TisResilienceProperties.ServiceTokensProperties tokens = properties.serviceTokens();
		ClientCredentialsServiceTokens serviceTokens = new ClientCredentialsServiceTokens(registrationByService,
				registrations, new ServiceTokenCache.Settings(tokens.refreshAt(), tokens.minBackoff(),
						tokens.maxBackoff(), tokens.fetchTimeout()));
		serviceTokens.start();
		return serviceTokens;
	}

}
