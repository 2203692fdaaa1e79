package uk.nhs.hee.tis.resilience.benchmarks;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Mono;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.reactive.ClientHttpConnectorBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.client.AbstractClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.mock.http.client.reactive.MockClientHttpRequest;
import org.springframework.mock.http.client.reactive.MockClientHttpResponse;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.http.HttpClientResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.http.ReactiveHttpClientResilienceAutoConfiguration;

/**
 * The cost of the starter's client plumbing on one successful exchange, without the network, for both
 * client shapes side by side: a WebClient from Boot's builder (which has the guard filter) against one
 * built bare, both on an exchange function that answers at once; and a RestClient from Boot's builder
 * (which has the guard interceptor) against one built bare, both on a request factory that answers at
 * once. The differences are the reactive and the blocking guard's cost per call as a client sees it;
 * {@code GuardBenchmark} measures the guard alone.
 * <p>
 * The connector pair measures what the exchange-function pair leaves out: a WebClient from Boot's builder
 * sends through the connector Boot built, which the starter wraps (it records requests for stale-if-error
 * and keeps each service's connect-timeout), against one built bare on the same connector, which answers
 * at once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ReactiveGuardBenchmark {

	private static final ExchangeFunction ANSWERS_AT_ONCE = (request) -> Mono
		.just(ClientResponse.create(HttpStatus.OK).header("Content-Type", "text/plain").body("answer").build());

	private ConfigurableApplicationContext app;

	private WebClient protectedClient;

	private WebClient bareClient;

	private RestClient protectedRestClient;

	private WebClient protectedConnectorClient;

	private WebClient bareConnectorClient;

	private RestClient bareRestClient;

	@Setup
	public void setUp() {
		this.app = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
			.run("--tis.resilience.services.profile.url=http://profile:8080", "--logging.level.root=WARN",
					"--tis.resilience.services.profile.bulkhead.max-concurrent-calls=1000",
					// The application's own request factory (the bean below), which the starter wraps.
					"--spring.http.clients.imperative.factory=jdk");
		this.protectedClient = this.app.getBean(WebClient.Builder.class).exchangeFunction(ANSWERS_AT_ONCE).build();
		this.bareClient = WebClient.builder().exchangeFunction(ANSWERS_AT_ONCE).build();
		this.protectedRestClient = this.app.getBean(RestClient.Builder.class).build();
		this.bareRestClient = RestClient.builder().requestFactory(AnswersAtOnce.FACTORY).build();
		this.protectedConnectorClient = this.app.getBean(WebClient.Builder.class).build();
		this.bareConnectorClient = WebClient.builder().clientConnector(CONNECTOR_ANSWERS_AT_ONCE).build();
	}

	@TearDown
	public void tearDown() {
		this.app.close();
	}

	@Benchmark
	public String bareInterceptorChain() {
		return this.bareRestClient.get().uri("http://profile:8080/api/userinfo").retrieve().body(String.class);
	}

	@Benchmark
	public String protectedInterceptorChain() {
		return this.protectedRestClient.get().uri("http://profile:8080/api/userinfo").retrieve().body(String.class);
	}

	@Benchmark
	public String bareFilterChain() {
		return this.bareClient.get().uri("http://profile:8080/api/userinfo").retrieve().bodyToMono(String.class).block();
	}

	@Benchmark
	public String protectedFilterChain() {
		return this.protectedClient.get().uri("http://profile:8080/api/userinfo").retrieve().bodyToMono(String.class).block();
	}

	@Benchmark
	public String bareConnectorChain() {
		return this.bareConnectorClient.get().uri("http://profile:8080/api/userinfo").retrieve().bodyToMono(String.class)
			.block();
	}

	@Benchmark
	public String protectedConnectorChain() {
		return this.protectedConnectorClient.get().uri("http://profile:8080/api/userinfo").retrieve()
			.bodyToMono(String.class).block();
	}

	/** A connector that answers 200 {@code answer} at once, once the request is written. */
	private static final ClientHttpConnector CONNECTOR_ANSWERS_AT_ONCE = (method, uri, requestCallback) -> requestCallback
		.apply(new MockClientHttpRequest(method, uri))
		.then(Mono.fromSupplier(() -> {
			MockClientHttpResponse response = new MockClientHttpResponse(HttpStatus.OK);
			response.getHeaders().setContentType(MediaType.TEXT_PLAIN);
			response.setBody("answer");
			return response;
		}));

	@SpringBootConfiguration
	@ImportAutoConfiguration({ TisResilienceAutoConfiguration.class, ReactiveHttpClientAutoConfiguration.class,
			WebClientAutoConfiguration.class, ReactiveHttpClientResilienceAutoConfiguration.class,
			HttpClientAutoConfiguration.class, ImperativeHttpClientAutoConfiguration.class, RestClientAutoConfiguration.class,
			HttpClientResilienceAutoConfiguration.class })
	static class App {

		@Bean
		ClientHttpRequestFactoryBuilder<ClientHttpRequestFactory> answersAtOnce() {
			return (settings) -> AnswersAtOnce.FACTORY;
		}

		/** The application's own connector builder, which the starter wraps as it wraps Boot's. */
		@Bean
		ClientHttpConnectorBuilder<ClientHttpConnector> connectorAnswersAtOnce() {
			return (settings) -> CONNECTOR_ANSWERS_AT_ONCE;
		}

	}

	/** A request that answers 200 {@code answer} at once, as the exchange function does for WebClient. */
	static final class AnswersAtOnce extends AbstractClientHttpRequest {

		static final ClientHttpRequestFactory FACTORY = AnswersAtOnce::new;

		private final URI uri;

		private final HttpMethod method;

		private AnswersAtOnce(URI uri, HttpMethod method) {
			this.uri = uri;
			this.method = method;
		}

		@Override
		public HttpMethod getMethod() {
			return this.method;
		}

		@Override
		public URI getURI() {
			return this.uri;
		}

		@Override
		protected OutputStream getBodyInternal(HttpHeaders headers) {
			return OutputStream.nullOutputStream();
		}

		@Override
		protected ClientHttpResponse executeInternal(HttpHeaders headers) {
			return new ClientHttpResponse() {

				private final HttpHeaders responseHeaders = HttpHeaders.readOnlyHttpHeaders(TEXT_PLAIN);

				@Override
				public HttpStatusCode getStatusCode() {
					return HttpStatus.OK;
				}

				@Override
				public String getStatusText() {
					return "OK";
				}

				@Override
				public HttpHeaders getHeaders() {
					return this.responseHeaders;
				}

				@Override
				public InputStream getBody() {
					return new ByteArrayInputStream(ANSWER);
				}

				@Override
				public void close() {
				}

			};
		}

		private static final byte[] ANSWER = "answer".getBytes(StandardCharsets.UTF_8);

		private static final HttpHeaders TEXT_PLAIN = textPlain();

		private static HttpHeaders textPlain() {
			HttpHeaders headers = new HttpHeaders();
			headers.setContentType(MediaType.TEXT_PLAIN);
			return headers;
		}

	}

}
