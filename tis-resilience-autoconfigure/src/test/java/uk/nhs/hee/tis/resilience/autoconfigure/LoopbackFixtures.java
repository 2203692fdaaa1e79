package uk.nhs.hee.tis.resilience.autoconfigure;

import java.util.ArrayList;
import java.util.List;

import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.service.HttpServiceClientPropertiesAutoConfiguration;
import org.springframework.boot.http.converter.autoconfigure.HttpMessageConvertersAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestTemplateAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.service.HttpServiceClientAutoConfiguration;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.autoconfigure.http.HttpClientResilienceAutoConfiguration;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;

/** What the tests against a misbehaving server on loopback share. */
public final class LoopbackFixtures {

	private LoopbackFixtures() {
	}

	/**
	 * A WireMock server on 127.0.0.1, on a free port.
	 * @return the extension to register
	 */
	public static WireMockExtension loopbackServer() {
		return loopbackServer(wireMockConfig());
	}

	/**
	 * A WireMock server on 127.0.0.1, on a free port, with more options.
	 * @param options options to start from
	 * @return the extension to register
	 */
	public static WireMockExtension loopbackServer(WireMockConfiguration options) {
		return WireMockExtension.newInstance().options(options.dynamicPort().bindAddress("127.0.0.1")).build();
	}

	/**
	 * Boot's blocking HTTP client auto-configurations with the starter's, as a service gets them,
	 * plus any others a test needs.
	 * @param others further auto-configurations
	 * @return the auto-configurations
	 */
	public static AutoConfigurations protectedHttpClients(Class<?>... others) {
		List<Class<?>> classes = new ArrayList<>(List.of(HttpClientAutoConfiguration.class,
				ImperativeHttpClientAutoConfiguration.class, HttpMessageConvertersAutoConfiguration.class,
				RestClientAutoConfiguration.class, RestTemplateAutoConfiguration.class,
				HttpServiceClientPropertiesAutoConfiguration.class, HttpServiceClientAutoConfiguration.class,
				TisResilienceAutoConfiguration.class, HttpClientResilienceAutoConfiguration.class));
		classes.addAll(List.of(others));
		return AutoConfigurations.of(classes.toArray(Class<?>[]::new));
	}

	/**
	 * Sends a GET to an application under test and answers whatever it answered, errors included. On
	 * the JDK client, which never resends by itself: a 503 with Retry-After reaches the test as it is
	 * (Apache HttpClient, also on this class path, would wait out the Retry-After and ask again).
	 * @param app the running application
	 * @param path the path to get
	 * @return the answer
	 */
	public static ResponseEntity<String> getFrom(ConfigurableApplicationContext app, String path) {
		int port = ((WebServerApplicationContext) app).getWebServer().getPort();
		return RestClient.builder()
			.requestFactory(new JdkClientHttpRequestFactory())
			.baseUrl("http://127.0.0.1:" + port)
			.build()
			.get()
			.uri(path)
			.retrieve()
			.onStatus((status) -> true, (request, response) -> {
			})
			.toEntity(String.class);
	}

}
