package uk.nhs.hee.tis.resilience.autoconfigure.token;

import java.net.http.HttpClient;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.nimbusds.jwt.JWTParser;

import org.jspecify.annotations.Nullable;

import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.converter.FormHttpMessageConverter;
import org.springframework.security.oauth2.client.endpoint.OAuth2ClientCredentialsGrantRequest;
import org.springframework.security.oauth2.client.endpoint.RestClientClientCredentialsTokenResponseClient;
import org.springframework.security.oauth2.client.registration.ClientRegistration;
import org.springframework.security.oauth2.client.http.OAuth2ErrorResponseErrorHandler;
import org.springframework.security.oauth2.client.registration.ClientRegistrationRepository;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.OAuth2AuthorizationException;
import org.springframework.security.oauth2.core.OAuth2AccessToken;
import org.springframework.security.oauth2.core.http.converter.OAuth2AccessTokenResponseHttpMessageConverter;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.token.AccessToken;
import uk.nhs.hee.tis.resilience.token.RefusedCredentialsException;
import uk.nhs.hee.tis.resilience.token.ServiceTokenCache;

/**
 * Client-credentials tokens for the services that name a registration, one cache per registration,
 * fetched with Spring Security's own token client on the JDK HTTP client, whose read timeout is a
 * deadline for the whole exchange (see decision 0003): each fetch ends by {@code fetch-timeout},
 * body included, however slowly the token endpoint answers.
 */
final class ClientCredentialsServiceTokens implements ServiceTokenProvider, AutoCloseable {

	/** Lifetime of a token whose response states none and that is not a JWT with an {@code exp}: 60 s. */
	static final Duration UNSTATED_LIFETIME = Duration.ofSeconds(60);

	private static final Set<String> REFUSALS = Set.of("invalid_client", "unauthorized_client", "invalid_grant",
			"invalid_scope", "access_denied");

	private final Map<String, ServiceTokenCache> cachesByService = new LinkedHashMap<>();

	private final Map<String, String> registrationByService;

	private final Map<String, ServiceTokenCache> cachesByRegistration = new LinkedHashMap<>();

	/**
	 * Creates the caches.
	 * @throws IllegalArgumentException naming the property when a registration is missing or is not
	 * a client-credentials one
	 */
	ClientCredentialsServiceTokens(Map<String, String> registrationByService, ClientRegistrationRepository registrations,
			ServiceTokenCache.Settings settings) {
		this.registrationByService = Map.copyOf(registrationByService);
		RestClientClientCredentialsTokenResponseClient client = new RestClientClientCredentialsTokenResponseClient();
		client.setRestClient(tokenEndpointClient(settings.fetchTimeout()));
		registrationByService.forEach((service, registrationId) -> {
			ClientRegistration registration = registrations.findByRegistrationId(registrationId);
			String key = "tis.resilience.services." + service + ".client-registration";
			if (registration == null) {
				throw new IllegalArgumentException(key + " names '" + registrationId + "', which is not configured under "
						+ "spring.security.oauth2.client.registration");
			}
			if (!AuthorizationGrantType.CLIENT_CREDENTIALS.equals(registration.getAuthorizationGrantType())) {
				throw new IllegalArgumentException(key + " names '" + registrationId + "', whose grant type is "
						+ registration.getAuthorizationGrantType().getValue() + ", not client_credentials");
			}
			ServiceTokenCache cache = this.cachesByRegistration.computeIfAbsent(registrationId,
					(id) -> new ServiceTokenCache(id, () -> fetch(client, registration), settings));
			this.cachesByService.put(service, cache);
		});
	}

	/**
	 * Spring Security's own token endpoint client (the same converters and error handler), on a
	 * request factory whose deadline covers connect, headers and body. Spring Security's default is
	 * a factory without any timeout, so a token endpoint that hangs would hold the one fetch thread.
	 */
	private static RestClient tokenEndpointClient(Duration deadline) {
		JdkClientHttpRequestFactory requestFactory = new JdkClientHttpRequestFactory(
				HttpClient.newBuilder().connectTimeout(deadline).build());
		requestFactory.setReadTimeout(deadline);
		return RestClient.builder()
			.requestFactory(requestFactory)
			.configureMessageConverters((converters) -> converters.addCustomConverter(new FormHttpMessageConverter())
				.addCustomConverter(new OAuth2AccessTokenResponseHttpMessageConverter()))
			.defaultStatusHandler(new OAuth2ErrorResponseErrorHandler())
			.build();
	}

	private static AccessToken fetch(RestClientClientCredentialsTokenResponseClient client,
			ClientRegistration registration) throws RefusedCredentialsException {
		OAuth2AccessToken token;
		try {
			token = client.getTokenResponse(new OAuth2ClientCredentialsGrantRequest(registration)).getAccessToken();
		}
		catch (OAuth2AuthorizationException ex) {
			String refusal = refusal(ex);
			if (refusal != null) {
				throw new RefusedCredentialsException(refusal, ex);
			}
			throw ex;
		}
		Instant issuedAt = (token.getIssuedAt() != null) ? token.getIssuedAt() : Instant.now();
		return new AccessToken(token.getTokenValue(), issuedAt, expiresAt(token, issuedAt));
	}

	/**
	 * When a token expires. Spring Security reads a response without {@code expires_in} (or with 0) as a
	 * token that expires one second after it was issued; such a token is given the expiry in its own
	 * {@code exp} claim when it is a JWT (Keycloak's are), else {@link #UNSTATED_LIFETIME}. The claim is
	 * read only to schedule the refresh: the token is not trusted here, the service it is sent to checks it.
	 */
	private static Instant expiresAt(OAuth2AccessToken token, Instant issuedAt) {
		Instant stated = token.getExpiresAt();
		if (stated != null && Duration.between(issuedAt, stated).compareTo(Duration.ofSeconds(1)) > 0) {
			return stated;
		}
		try {
			java.util.Date exp = JWTParser.parse(token.getTokenValue()).getJWTClaimsSet().getExpirationTime();
			if (exp != null && exp.toInstant().isAfter(issuedAt)) {
				return exp.toInstant();
			}
		}
		catch (ParseException ex) {
			// An opaque token: its lifetime is unknown.
		}
		return issuedAt.plus(UNSTATED_LIFETIME);
	}

	// RFC 6749 section 5.2: errors that say the client's credentials or grant were refused. A 401 or 403 whose
	// body Spring Security could not read says the same.
	private static @Nullable String refusal(OAuth2AuthorizationException ex) {
		String code = ex.getError().getErrorCode();
		if (REFUSALS.contains(code)) {
			return code;
		}
		for (Throwable cause = ex.getCause(); cause != null; cause = cause.getCause()) {
			if (cause instanceof HttpClientErrorException.Unauthorized || cause instanceof HttpClientErrorException.Forbidden) {
				return ((HttpClientErrorException) cause).getStatusCode().toString();
			}
		}
		return null;
	}

	void start() {
		this.cachesByRegistration.values().forEach(ServiceTokenCache::start);
	}

	Map<String, ServiceTokenCache> cachesByRegistration() {
		return this.cachesByRegistration;
	}

	@Override
	public @Nullable String tokenFor(String service) {
		ServiceTokenCache cache = this.cachesByService.get(service);
		if (cache == null) {
			return null;
		}
		String token = cache.token();
		if (token == null) {
			throw new ServiceUnavailableException(service,
					cache.credentialsRefused() ? Reason.CREDENTIALS_REFUSED : Reason.SERVICE_TOKEN_UNAVAILABLE);
		}
		return token;
	}

	@Override
	public void close() {
		this.cachesByRegistration.values().forEach(ServiceTokenCache::close);
	}

}
